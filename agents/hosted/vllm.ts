import { ConfigError } from '../../src/core/index.ts';
import { PolicyHostError } from './host-client.ts';

/**
 * Publishing to vLLM: each version's LoRA adapter (the PEFT folder the
 * reference host writes with its sampler weights) is loaded into vLLM under
 * the version's name (`model_0a1b2c3d@3`), through vLLM's runtime adapter API
 * (`POST /v1/load_lora_adapter`, which needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True).
 * Older versions are unloaded so that at most `keep` stay served. vLLM reads
 * the folder, so it must see the host's checkpoint directory.
 */
export class VllmAdapters {
  private readonly loaded: string[] = [];

  /**
   * @param baseURL vLLM's OpenAI API root, e.g. `http://127.0.0.1:8000/v1`
   * @param keep versions kept loaded (default 2: the new one and the one in-flight matches may still use)
   */
  constructor(
    readonly baseURL: string,
    private readonly keep = 2,
  ) {}

  /** Loads the adapter in `adapterDir` into vLLM as `model`; returns the models it unloaded to keep `keep`. */
  async load(model: string, adapterDir: string | undefined): Promise<string[]> {
    if (this.loaded.includes(model)) return [];
    if (adapterDir === undefined) throw new ConfigError('vLLM serves LoRA adapters: train a LoRA model (--lora-rank above 0) to sample it on vLLM');
    await this.post('load_lora_adapter', { lora_name: model, lora_path: adapterDir });
    this.loaded.push(model);
    const unloaded: string[] = [];
    while (this.loaded.length > this.keep) {
      const old = this.loaded.shift()!;
      await this.post('unload_lora_adapter', { lora_name: old });
      unloaded.push(old);
    }
    return unloaded;
  }

  private async post(endpoint: string, body: Record<string, string>): Promise<void> {
    const url = `${this.baseURL.replace(/\/+$/, '')}/${endpoint}`;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new PolicyHostError(`cannot reach vLLM at ${url} (${(error as Error).message})`, 0);
    }
    if (!response.ok) throw new PolicyHostError(`vLLM refused ${endpoint} ${JSON.stringify(body)}: ${response.status} ${(await response.text()).slice(0, 500)}`, response.status);
  }
}
