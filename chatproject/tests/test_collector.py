"""The pause of the cyclic collector around large imports."""

import gc
import threading

import pytest

from chatproject import collector


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_resumes_only_when_the_last_job_ends():
    first_inside, second_started, first_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with collector.paused():
            first_inside.set()
            second_started.wait(5)
        seen["after first"] = gc.isenabled()
        first_done.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_inside.wait(5)
    with collector.paused():
        second_started.set()
        first_done.wait(5)
        seen["second, after first ended"] = gc.isenabled()
    thread.join(5)

    assert seen == {"after first": False, "second, after first ended": False}
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off_and_errors_resume_it():
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()

    gc.enable()
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("a failed import")
    assert gc.isenabled()
