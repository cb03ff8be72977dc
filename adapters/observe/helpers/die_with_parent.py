"""Helper launcher (homenet-controller, adapters/observe/helper-runner.ts).

Makes the process die with the one that started it, even a killed one
(PR_SET_PDEATHSIG = SIGKILL, which survives execve), then becomes COMMAND.
Exits 70 without running COMMAND when that parent is already gone, 127
when COMMAND cannot be run.

usage: HOMENET_HELPER_PARENT=PID die_with_parent.py COMMAND [ARG...]
"""
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
parent = os.environ.pop('HOMENET_HELPER_PARENT', '')
if parent and os.getppid() != int(parent):
    sys.exit(70)
if len(sys.argv) < 2:
    sys.stderr.write('usage: die_with_parent.py COMMAND [ARG...]\n')
    sys.exit(64)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError as error:
    sys.stderr.write('cannot run %s: %s\n' % (sys.argv[1], error.strerror))
    sys.exit(127)
