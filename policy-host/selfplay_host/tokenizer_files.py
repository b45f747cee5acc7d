"""The byte model's tokenizer as Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json with its
chat template), so that a client renders and tokenizes prompts exactly as this host does, with the same
libraries it uses for any other model. `python3 -m selfplay_host.tokenizer_files DIR` writes them; the
checked-in copy is policy-host/tokenizer/, and a test checks that it matches this module.
"""

from __future__ import annotations

import json
import os
import sys

from . import tokenizer

# encode_chat's template: BOS, per message its role marker, its text and END, then the assistant marker.
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' or message['role'] == 'developer' -%}{{- '<|system|>' -}}"
    "{%- elif message['role'] == 'user' -%}{{- '<|user|>' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- '<|assistant|>' -}}"
    "{%- elif message['role'] == 'tool' or message['role'] == 'function' -%}{{- '<|tool|>' -}}"
    "{%- else -%}{{- raise_exception('unknown role: ' + message['role']) -}}"
    "{%- endif -%}"
    "{{- message['content'] + eos_token -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}"
)


def byte_chars() -> list[str]:
    """GPT-2's map of the 256 bytes to printable characters, which the ByteLevel pre-tokenizer uses."""
    printable = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def tokenizer_json() -> dict:
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': False}
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [
            {'id': i, 'content': name, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
            for i, name in sorted(tokenizer.SPECIAL_NAMES.items())
        ],
        'normalizer': None,
        'pre_tokenizer': byte_level,
        'post_processor': None,
        'decoder': byte_level,
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None, 'end_of_word_suffix': None,
            'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
            'vocab': {char: b for b, char in enumerate(byte_chars())},
            'merges': [],
        },
    }


def tokenizer_config(context: int = 256) -> dict:
    return {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'bos_token': tokenizer.SPECIAL_NAMES[tokenizer.BOS],
        'eos_token': tokenizer.SPECIAL_NAMES[tokenizer.END],
        'model_max_length': context,
        'chat_template': CHAT_TEMPLATE,
    }


def write(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, data in (('tokenizer.json', tokenizer_json()), ('tokenizer_config.json', tokenizer_config())):
        with open(os.path.join(directory, name), 'w', encoding='utf-8') as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write('\n')


if __name__ == '__main__':
    write(sys.argv[1] if len(sys.argv) > 1 else 'tokenizer')
