import { z } from 'zod';

const loadRequest = z.object({ lora_name: z.string().min(1).max(256), lora_path: z.string().min(1).max(4096) });
const unloadRequest = z.object({ lora_name: z.string().min(1).max(256) });

/** An answer: the HTTP status and vLLM's body (plain text on success, as vLLM sends). */
export interface AdapterAnswer {
  readonly status: number;
  readonly text: string;
}

/**
 * vLLM's runtime LoRA API, as far as a client can tell: `POST
 * /v1/load_lora_adapter {lora_name, lora_path}` adds a model name the server
 * answers to, `POST /v1/unload_lora_adapter {lora_name}` removes it.
 */
export class LoraAdapters {
  /** Loaded adapters: name -> path. */
  readonly loaded = new Map<string, string>();

  handle(endpoint: 'load_lora_adapter' | 'unload_lora_adapter', raw: string | null): AdapterAnswer {
    let json: unknown;
    try {
      json = JSON.parse(raw ?? '');
    } catch {
      return { status: 400, text: 'the request body is not JSON' };
    }
    if (endpoint === 'load_lora_adapter') {
      const body = loadRequest.safeParse(json);
      if (!body.success) return { status: 400, text: 'expected {"lora_name": "...", "lora_path": "..."}' };
      if (this.loaded.has(body.data.lora_name)) return { status: 400, text: `The lora adapter '${body.data.lora_name}' has already been loaded.` };
      this.loaded.set(body.data.lora_name, body.data.lora_path);
      return { status: 200, text: `Success: LoRA adapter '${body.data.lora_name}' added successfully.` };
    }
    const body = unloadRequest.safeParse(json);
    if (!body.success) return { status: 400, text: 'expected {"lora_name": "..."}' };
    if (!this.loaded.delete(body.data.lora_name)) return { status: 404, text: `The lora adapter '${body.data.lora_name}' cannot be found.` };
    return { status: 200, text: `Success: LoRA adapter '${body.data.lora_name}' removed successfully.` };
  }
}
