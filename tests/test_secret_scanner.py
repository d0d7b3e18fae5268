"""The session-wide check that no log record of the test run contains a secret."""

import logging

from tests.conftest import WEBHOOK_TOKEN, SecretScanner


def test_log_scanner_sees_records_and_leaks():
    scanner = SecretScanner()
    logger = logging.getLogger("tests.scanner")
    logger.addHandler(scanner)
    logger.propagate = False  # keep the deliberate leak away from the session scanner
    try:
        logger.warning("order 1 ok")
        logger.warning("token is %s", WEBHOOK_TOKEN)
    finally:
        logger.removeHandler(scanner)
        logger.propagate = True
    assert scanner.records == 2
    assert len(scanner.leaks) == 1
