"""Helper launcher (homenet-controller, adapters/observe/helper-runner.ts).

Makes the process die with the one that started it, even a killed one
(PR_SET_PDEATHSIG = SIGKILL, which survives execve), then becomes COMMAND.
Exits 70 without running COMMAND when that parent is already gone.

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
os.execvp(sys.argv[1], sys.argv[1:])
