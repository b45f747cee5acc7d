"""Byte-level tokens and the chat template.

Ids 0-255 are the bytes of UTF-8 text. Above them are a few special tokens;
only bytes and END can be generated (the model's output layer has
OUTPUT_SIZE = 257 rows), the others appear in prompts only.

Template: BOS, then per message its role marker, the content's UTF-8 bytes and
END; last the assistant marker. A completion is bytes followed by END.
"""

from __future__ import annotations

END = 256        # end of a message; ends a completion (finish_reason "stop")
BOS = 257
SYSTEM = 258
USER = 259
ASSISTANT = 260
TOOL = 261

VOCAB_SIZE = 262
OUTPUT_SIZE = 257

SPECIAL_NAMES = {
    END: '<|end|>', BOS: '<|begin|>', SYSTEM: '<|system|>', USER: '<|user|>', ASSISTANT: '<|assistant|>', TOOL: '<|tool|>',
}

ROLE_TOKENS = {
    'system': SYSTEM, 'developer': SYSTEM, 'user': USER, 'assistant': ASSISTANT, 'tool': TOOL, 'function': TOOL,
}


def encode_chat(messages: list[tuple[str, str]], limit: int) -> list[int]:
    """The prompt for (role, text) messages, cut from the left to at most `limit` tokens."""
    ids = [BOS]
    for role, text in messages:
        ids.append(ROLE_TOKENS[role])
        ids.extend(text.encode('utf-8'))
        ids.append(END)
    ids.append(ASSISTANT)
    return ids[-limit:] if len(ids) > limit else ids


def encode_completion(text: str) -> list[int]:
    """A completion that says `text` and stops: its bytes, then END."""
    return [*text.encode('utf-8'), END]


def decode(ids: list[int]) -> str:
    """The text of generated ids: bytes as UTF-8 (invalid sequences become U+FFFD); special tokens add nothing."""
    return bytes(i for i in ids if i < 256).decode('utf-8', errors='replace')


def token_text(i: int) -> str:
    """One token as a string: a byte as the latin-1 character with that code, a special token by name."""
    return chr(i) if i < 256 else SPECIAL_NAMES.get(i, f'<|{i}|>')


def token_bytes(i: int) -> list[int]:
    """The bytes a token adds to the content: one for a byte token, none for a special token."""
    return [i] if i < 256 else []
