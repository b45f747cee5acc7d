"""policy-host/tokenizer/ is the byte model's tokenizer as Hugging Face files: the checked-in copy is what
tokenizer_files writes, and its vocabulary is this host's (the TypeScript tests check that prompts rendered
and tokenized from these files equal the host's own)."""

import json
import os
import unittest

from selfplay_host import tokenizer, tokenizer_files

DIR = os.path.join(os.path.dirname(__file__), '..', 'tokenizer')


class TokenizerFiles(unittest.TestCase):
    def test_the_checked_in_files_are_current(self):
        for name, expected in (('tokenizer.json', tokenizer_files.tokenizer_json()), ('tokenizer_config.json', tokenizer_files.tokenizer_config())):
            with open(os.path.join(DIR, name), encoding='utf-8') as f:
                self.assertEqual(json.load(f), expected, f'{name} is stale: python3 -m selfplay_host.tokenizer_files tokenizer')

    def test_the_vocabulary_is_the_hosts(self):
        data = tokenizer_files.tokenizer_json()
        vocab = data['model']['vocab']
        self.assertEqual(sorted(vocab.values()), list(range(256)))
        self.assertEqual(len(set(vocab)), 256)
        # Each byte's character is one character, and printable ASCII maps to itself.
        self.assertTrue(all(len(c) == 1 for c in vocab))
        self.assertEqual(vocab['A'], ord('A'))
        self.assertEqual({t['id']: t['content'] for t in data['added_tokens']}, tokenizer.SPECIAL_NAMES)
        config = tokenizer_files.tokenizer_config()
        self.assertEqual((config['bos_token'], config['eos_token']), ('<|begin|>', '<|end|>'))


if __name__ == '__main__':
    unittest.main()
