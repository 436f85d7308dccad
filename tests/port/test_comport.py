"""RFC 2217's value tables (bridge.telnet.comport) and a session's COM-PORT state, tested directly."""

from __future__ import annotations

from bridge.port.linecontrol import ComPortState, modemstate_byte
from bridge.telnet import comport
from bridge.telnet.comport import ControlGroup


def test_every_set_control_value_decodes_to_a_group() -> None:
    """0..19 follow RFC 2217's table; 17-19 (DCD/DTR/DSR flow control, not implemented) and
    anything above 19 are queries, answered with the state in force."""
    assert comport.decode_control(1) == comport.ControlRequest(ControlGroup.OUTBOUND_FLOW, "none")
    assert comport.decode_control(16) == comport.ControlRequest(ControlGroup.INBOUND_FLOW, "rtscts")
    assert comport.decode_control(5).wanted is True and comport.decode_control(9).wanted is False
    for value in (0, 4, 7, 10, 13, 17, 18, 19, *range(20, 256)):
        assert comport.decode_control(value).wanted is None, value


def test_answers_are_codes_of_the_same_group() -> None:
    for value in range(256):
        group = comport.decode_control(value).group
        for state in ("none", "xonxoff", "rtscts", "dsrdtr") if group in (
                ControlGroup.OUTBOUND_FLOW, ControlGroup.INBOUND_FLOW) else (True, False):
            answer = comport.control_answer(group, state)
            assert comport.decode_control(answer).group is group, (value, state, answer)


def test_parity_stop_and_data_size_tables_round_trip() -> None:
    for code, name in comport.PARITY_BY_CODE.items():
        assert comport.parity_code(name) == code
    for code, bits in comport.STOPBITS_BY_CODE.items():
        assert comport.stopsize_code(bits) == code
    assert [v for v in range(256) if comport.decode_datasize(v) is not None] == [5, 6, 7, 8]
    assert [v for v in range(256) if comport.decode_parity(v) is not None] == [1, 2, 3, 4, 5]
    assert [v for v in range(256) if comport.decode_stopsize(v) is not None] == [1, 2, 3]


def test_purge_values() -> None:
    assert comport.PURGE_BY_CODE[1] == comport.Purge(receive=True, transmit=False)
    assert comport.PURGE_BY_CODE[3] == comport.Purge(receive=True, transmit=True)
    assert 0 not in comport.PURGE_BY_CODE and 4 not in comport.PURGE_BY_CODE


def test_com_port_state_starts_as_rfc_2217_says() -> None:
    """The initial modem-state mask is 255; nothing is watched on the line state."""
    state = ComPortState()
    assert state.modemstate_mask == 255 and state.linestate_mask == 0 and not state.holds_break


def test_modem_state_delta_bits() -> None:
    first = modemstate_byte(cts=True, dsr=False, ri=False, cd=True, previous=None)
    assert first == 0x90
    changed = modemstate_byte(cts=False, dsr=False, ri=False, cd=True, previous=first)
    assert changed == 0x80 | 0x01
