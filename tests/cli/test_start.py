"""The command line starts without importing torch: help, a command's help and argument errors stay fast."""

import subprocess
import sys


def test_importing_the_command_line_does_not_import_torch():
    code = "import sys, seqlab.cli.app; assert 'torch' not in sys.modules, [m for m in sys.modules if 'torch' in m]"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_help_and_argument_errors_do_not_import_torch():
    probe = ("import sys, runpy\n"
             "sys.argv = ['seqlab', *sys.argv[1:]]\n"
             "try:\n"
             "    runpy.run_module('seqlab', run_name='__main__')\n"
             "except SystemExit as stop:\n"
             "    print('exit', stop.code, 'torch' in sys.modules)\n")
    cases = (["--help"], ["train", "--help"], ["tokenize", "train", "--help"], ["train"], ["forecast", "--horizon"])
    for args in cases:
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
        last = result.stdout.strip().splitlines()[-1]
        assert last.startswith("exit") and last.endswith("False"), (args, result.stdout[-300:], result.stderr[-300:])
