"""The engines families run at the vantage, and the families' runner-side halves.

Kept light on purpose: the agent imports engines from here at the vantage, and
must not pay for the inventory models (pydantic) it never uses.
"""

import os

# numpy is used for packet arithmetic, never for linear algebra: without this its
# BLAS starts a thread per core that spins beside the packet senders
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
