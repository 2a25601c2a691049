"""PyYAML for the checks: imported, or installed with pip when missing. A check that cannot read
its file must not pass, so the caller exits 1 when neither works."""
import subprocess
import sys


def load(check):
    """The yaml module, or exits 1 with a line naming `check`."""
    try:
        import yaml
        return yaml
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyyaml"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import yaml
        return yaml
    except ImportError:
        print(f"{check}: PyYAML is not available and could not be installed (pip install pyyaml)")
        sys.exit(1)
