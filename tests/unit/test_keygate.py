"""The key gate's order: one key in flight, the next only when it is done."""

from __future__ import annotations

from textual import events

from kcrash.ui.keygate import KeyGate


def key(char: str) -> events.Key:
    return events.Key(char, char)


def test_a_key_waits_while_the_one_before_is_in_flight() -> None:
    gate = KeyGate()
    first, second = key("o"), key("m")
    assert gate.admit(first)
    assert not gate.admit(second)
    assert gate.next_key() is None
    gate.came_back(first)
    assert gate.next_key() is second


def test_a_key_handed_on_to_a_text_box_keeps_the_turn_until_the_box_consumes_it() -> None:
    gate = KeyGate()
    first, second = key("o"), key("o")
    assert gate.admit(first)
    assert not gate.admit(second)
    retyped = key("o")
    gate.handed_on(first, retyped)
    assert gate.next_key() is None  # the copy sent to the box is not typed yet
    retyped.stop()  # the box consumed it
    assert gate.next_key() is second


def test_a_consumed_key_lets_the_next_go() -> None:
    gate = KeyGate()
    first, second = key("a"), key("b")
    gate.admit(first)
    gate.admit(second)
    first.stop()
    assert gate.next_key() is second
    assert gate.waiting == 0


def test_a_key_waits_for_the_screen_the_key_before_opened() -> None:
    mounted = False
    gate = KeyGate(ready=lambda: mounted)
    opens, acts = key("l"), key("f")
    assert gate.admit(opens)
    assert not gate.admit(acts)
    gate.came_back(opens)  # its binding pushed a screen, which composes later
    assert gate.next_key() is None
    mounted = True
    assert gate.next_key() is acts


class _Widget:
    def __init__(self) -> None:
        self.is_attached = True


def test_a_key_whose_widget_was_removed_lets_the_next_go_at_once() -> None:
    box = _Widget()
    gate = KeyGate(target=lambda: box)
    first, second = key("x"), key("y")
    gate.admit(first)
    gate.admit(second)
    assert gate.next_key() is None
    box.is_attached = False  # its screen closed before it handled the key
    assert gate.next_key() is second


def test_a_key_of_a_later_read_waits_behind_the_keys_already_waiting() -> None:
    gate = KeyGate()
    opens, first, later = key("/"), key("h"), key("e")
    gate.admit(opens)
    assert not gate.admit(first)
    gate.came_back(opens)  # done, but `first` has not been let go yet
    assert not gate.admit(later)
    assert gate.next_key() is first
