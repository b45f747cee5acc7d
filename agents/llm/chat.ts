/** One message of a chat prompt, as plain data: what is sent to the model and recorded in the episode. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}
