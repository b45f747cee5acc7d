"""python3 -m selfplay_host as a process: --help, the JSON line on stdout, clean shutdown."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_host(*args: str) -> subprocess.Popen:
    env = {**os.environ, 'PYTHONPATH': ROOT, 'PYTHONDONTWRITEBYTECODE': '1'}
    return subprocess.Popen([sys.executable, '-m', 'selfplay_host', *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


class Cli(unittest.TestCase):
    def test_help_describes_the_options(self):
        out = subprocess.run([sys.executable, '-m', 'selfplay_host', '--help'], capture_output=True, text=True, timeout=60,
                             env={**os.environ, 'PYTHONPATH': ROOT, 'PYTHONDONTWRITEBYTECODE': '1'})
        self.assertEqual(out.returncode, 0, out.stderr)
        for flag in ('--host', '--port', '--device', '--policy', '--keep', '--checkpoint-dir', '--d-model', '--layers', '--heads', '--context', '--seed',
                     '--max-choice-batch', '--no-malloc-tuning'):
            self.assertIn(flag, out.stdout)

    def test_prints_where_it_listens_and_stops_on_sigterm(self):
        with tempfile.TemporaryDirectory() as checkpoints:
            host = run_host('--port', '0', '--d-model', '16', '--layers', '1', '--heads', '2', '--context', '64',
                            '--policy', 'a', '--policy', 'b', '--checkpoint-dir', checkpoints, '--guided-choice-scoring', 'mean', '--max-choice-batch', '8')
            try:
                line = host.stdout.readline()
                ready = json.loads(line)
                self.assertEqual(list(ready), ['listening', 'device'])
                self.assertRegex(ready['listening'], r'^http://127\.0\.0\.1:\d+$')
                self.assertEqual(line.strip(), json.dumps(ready))
                with urllib.request.urlopen(ready['listening'] + '/health', timeout=30) as response:
                    health = json.load(response)
                self.assertEqual([p['id'] for p in health['policies']], ['a', 'b'])
                self.assertEqual(health['guided_choice_scoring'], 'mean')
                host.send_signal(signal.SIGTERM)
                self.assertEqual(host.wait(timeout=30), 0)
                self.assertEqual(host.stdout.read(), '')  # exactly one line on stdout
            finally:
                if host.poll() is None:
                    host.kill()
                host.stdout.close()
                host.stderr.close()

    def test_bad_options_exit_with_a_message(self):
        host = run_host('--d-model', '30', '--heads', '4', '--port', '0')
        _, err = host.communicate(timeout=60)
        self.assertEqual(host.returncode, 2)
        self.assertIn('multiple of heads', err)
        host = run_host('--max-choice-batch', '0', '--port', '0')
        _, err = host.communicate(timeout=60)
        self.assertEqual(host.returncode, 2)
        self.assertIn('--max-choice-batch must be at least 1', err)


if __name__ == '__main__':
    unittest.main()
