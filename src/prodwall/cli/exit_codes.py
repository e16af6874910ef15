"""Every command's exit codes, as its --help says them (and README.md, docs/report.md)."""

from __future__ import annotations

EPILOG = "exit codes: 0 all blocked, 1 something reachable, 2 bad input or usage, 3 inconclusive"
RESULTS_EPILOG = (
    "exit codes: 0 every reviewed check blocked (or waived) and nothing left uncovered, "
    "1 something reachable, 2 bad input or usage, 3 inconclusive, nothing reviewed, or "
    "partial (a planned family not run, a mapped requirement without a reviewed check)"
)
EXITS = {
    "validate": "exit codes: 0 every inventory is valid, 2 a problem (each named with file, "
    "line, field and fix)",
    "plan": "exit codes: 0 the plan was printed (nothing is sent), 2 bad input, an unknown "
    "vantage or a scope-guard refusal",
    "schema": "exit codes: 0",
    "run": RESULTS_EPILOG,
    "hosts": RESULTS_EPILOG,
    "cloud": RESULTS_EPILOG,
    "fleet": RESULTS_EPILOG + " (over every intended vantage: one that returned no verified "
    "run is inconclusive, so 3 unless something is reachable)",
    "zipapp": "exit codes: 0 written, 2 usage",
    "ci": "exit codes: 0 nothing newly reachable, no expired waiver, no coverage lost; "
    "1 a newly reachable finding or an expired waiver (--fail-on any: any reachable "
    "finding); 3 coverage lost: a check newly inconclusive or no longer run, or a fleet "
    "vantage not covered (--fail-on any: any inconclusive verdict); 2 usage",
    "report": RESULTS_EPILOG + " (judged from the results given)",
    "merge": RESULTS_EPILOG + " (judged from all results given)",
    "history": "exit codes: the last night decides: 0 all blocked, 1 something reachable, "
    "3 inconclusive or nothing reviewed; 3 also when the last night is flagged (a vantage "
    "missing, a duplicate run) or any night's files were tampered with; 2 usage",
    "diff": "exit codes: 0 nothing newly reachable, inconclusive or unchecked; 1 something "
    "became reachable (a new check that is reachable included); 3 something became "
    "inconclusive or is no longer checked; 2 usage",
    "verify": "exit codes: 0 intact and signed by a trusted key (each copied run too, by a "
    "trusted key or one the trusted signer vouched for); 1 a file changed, vanished or "
    "appeared, a link or special file, a cited capture missing, a report that does not "
    "render these results, a missing manifest, or a signature that is absent, invalid or "
    "by an untrusted key when a trusted key was given; 3 the files are intact but no "
    "trusted key was given to check who signed them; 2 usage or unreadable input",
    "keygen": "exit codes: 0 written, 2 usage (an existing key is never overwritten)",
    "fingerprint": "exit codes: 0 printed, 2 no key or no secret",
    "lab": "exit codes: 0 done (status: healthy or down), 2 usage (e.g. not root), "
    "3 status: the lab is up but degraded",
    "demo": "exit codes: 0 sealed lab proven and every checkable planted leak found, "
    "1 otherwise, 2 usage (e.g. not root)",
}
