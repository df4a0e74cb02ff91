"""Without Chromium the browser tests skip, saying why, except under CI."""

import pytest

from .conftest import missing, require_browser


def test_a_missing_chromium_is_named_with_how_to_install_it():
    assert missing("/nonexistent/chromium") == ["/nonexistent/chromium is missing (apt-get install -y chromium)"]


def test_without_a_browser_the_tests_skip_with_the_reason():
    with pytest.raises(pytest.skip.Exception, match=r"browser tests cannot run: /x is missing \(apt-get install -y chromium\)"):
        require_browser(["/x is missing (apt-get install -y chromium)"], ci=False)


def test_without_a_browser_ci_fails():
    with pytest.raises(pytest.fail.Exception, match="CI must run them"):
        require_browser(["/x is missing (apt-get install -y chromium)"], ci=True)


def test_with_everything_installed_nothing_is_said():
    assert require_browser([], ci=True) is None
