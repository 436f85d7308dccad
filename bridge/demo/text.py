"""What the simulated board prints: boot messages, help texts, the environment.

Pure data and string builders, no state. Every line ends in CR LF, as a real
serial console's output does (the board's tty has no output processing to
turn LF into CR LF for it). The timings of the boot sequence are in board
seconds; :class:`bridge.demo.console.BoardConsole` scales them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

USERNAME = "root"
PASSWORD = "bridge"
CREDENTIALS_LINE = f"login: {USERNAME}  password: {PASSWORD}"

KERNEL_RELEASE = "6.1.0-demo"
KERNEL_VERSION = "#1 SMP PREEMPT Mon Jan  8 12:00:00 UTC 2024"
MACHINE = "armv7l"
UBOOT_VERSION = "U-Boot 2024.01 (Jan 08 2024 - 12:00:00 +0000)"
MODEL = "serial-bridge Demo Board"
AUTOBOOT_SECONDS = 3

UBOOT_PROMPT = "=> "
PASSWORD_PROMPT = "Password: "

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Phase(StrEnum):
    """What the board is doing, which decides what typed bytes do."""

    OFF = "off"            # not powered on yet: input is dropped
    BOOTING = "booting"    # firmware or kernel messages: input is dropped
    AUTOBOOT = "autoboot"  # the autoboot countdown: a key or a break stops it
    UBOOT = "u-boot"       # the "=> " firmware prompt
    LOGIN = "login"        # "<name> login: "
    PASSWORD = "password"  # "Password: " (not echoed)
    SHELL = "shell"        # "root@<name>:~# "


@dataclass(frozen=True, slots=True)
class Step:
    """One timed piece of output.

    Attributes:
        delay: board seconds after the previous step (or after the command
            that started the sequence).
        text: what is printed when the step is due.
        phase: the board's phase once the step is printed.
        power_on: the step is the moment the board (re)starts: uptime counts
            from it.
    """

    delay: float
    text: bytes
    phase: Phase
    power_on: bool = False


def crlf(*lines: str) -> bytes:
    """The lines, each ended with CR LF, encoded."""
    return "".join(f"{line}\r\n" for line in lines).encode()


def shell_prompt(name: str) -> bytes:
    """The root shell prompt of the board called name."""
    return f"{USERNAME}@{name}:~# ".encode()


def login_prompt(name: str) -> bytes:
    """The getty prompt of the board called name."""
    return f"{name} login: ".encode()


def issue(name: str) -> bytes:
    """The text shown above the login prompt (/etc/issue), credentials included."""
    return crlf(
        "",
        f"Demo Linux 1.0 {name} ttyS0 (simulated by serial-bridge)",
        f"Log in with  {CREDENTIALS_LINE}",
        "",
    )


def power_on_steps(name: str) -> list[Step]:
    """From power on to the autoboot countdown and the kernel, to the login prompt."""
    firmware = crlf(
        "",
        UBOOT_VERSION,
        "",
        "CPU:   Allwinner H3 (SUN8I 1680)",
        f"Model: {MODEL} ({name})",
        "DRAM:  512 MiB",
        "Core:  42 devices, 14 uclasses, devicetree: separate",
        "MMC:   mmc@1c0f000: 0",
        "Loading Environment from FAT... OK",
        "In:    serial@1c28000",
        "Out:   serial@1c28000",
        "Err:   serial@1c28000",
        "Net:   eth0: ethernet@1c30000",
        f"Demo board: {CREDENTIALS_LINE}",
    ) + f"Hit any key to stop autoboot: {AUTOBOOT_SECONDS}".encode()
    spl = crlf("", "U-Boot SPL 2024.01 (Jan 08 2024 - 12:00:00 +0000)",
               "DRAM: 512 MiB", "Trying to boot from MMC1")
    steps = [Step(0.0, spl, Phase.BOOTING, power_on=True),
             Step(0.3, firmware, Phase.AUTOBOOT)]
    for count in range(AUTOBOOT_SECONDS - 1, 0, -1):
        steps.append(Step(1.0, f" {count}".encode(), Phase.AUTOBOOT))
    steps.append(Step(1.0, b" 0\r\n", Phase.BOOTING))
    return steps + boot_steps(name)


def boot_steps(name: str) -> list[Step]:
    """What ``boot`` at the firmware prompt prints, to the login prompt."""
    loader = crlf(
        "switch to partitions #0, OK",
        "mmc0 is current device",
        "Scanning mmc 0:1...",
        "Found /boot/extlinux/extlinux.conf",
        "Retrieving file: /boot/zImage",
    )
    early = crlf(
        "",
        "Starting kernel ...",
        "",
        "[    0.000000] Booting Linux on physical CPU 0x0",
        f"[    0.000000] Linux version {KERNEL_RELEASE} (builder@serial-bridge) "
        f"(gcc 12.2.0) {KERNEL_VERSION}",
        "[    0.000000] CPU: ARMv7 Processor [410fc075] revision 5 (ARMv7)",
        f"[    0.000000] Machine model: {MODEL}",
        "[    0.000000] Memory: 503812K/524288K available",
    )
    serial = crlf(
        "[    0.412503] Serial: 8250/16550 driver, 4 ports, IRQ sharing disabled",
        "[    0.415211] 1c28000.serial: ttyS0 at MMIO 0x1c28000 (irq = 33) is a U6_16550A",
        "[    0.415320] printk: console [ttyS0] enabled",
    )
    rootfs = crlf(
        "[    1.204117] mmcblk0: mmc0:aaaa SD32G 29.7 GiB",
        "[    1.291856] EXT4-fs (mmcblk0p2): mounted filesystem with ordered data mode",
        "[    1.302440] Run /sbin/init as init process",
    )
    init = crlf("Starting syslogd: OK", "Starting klogd: OK", "Starting network: OK")
    return [
        Step(0.0, loader, Phase.BOOTING),
        Step(0.4, early, Phase.BOOTING),
        Step(0.3, serial, Phase.BOOTING),
        Step(0.4, rootfs, Phase.BOOTING),
        Step(0.5, init, Phase.BOOTING),
        Step(0.3, issue(name) + login_prompt(name), Phase.LOGIN),
    ]


def reboot_steps(name: str, uptime: float) -> list[Step]:
    """What ``reboot`` at the shell prints, then the whole boot again."""
    going_down = crlf(
        "The system is going down NOW!",
        "Sent SIGTERM to all processes",
        "Sent SIGKILL to all processes",
        "Requesting system reboot",
    )
    restart = crlf(f"[{uptime:12.6f}] reboot: Restarting system")
    return [Step(0.0, going_down, Phase.BOOTING),
            Step(0.5, restart, Phase.BOOTING)] + _delayed(power_on_steps(name), 0.5)


def reset_steps(name: str) -> list[Step]:
    """What ``reset`` at the firmware prompt prints, then the whole boot again."""
    return [Step(0.0, crlf("resetting ..."), Phase.BOOTING)] + _delayed(power_on_steps(name), 0.5)


def _delayed(steps: list[Step], delay: float) -> list[Step]:
    first = steps[0]
    return [Step(delay, first.text, first.phase, first.power_on)] + steps[1:]


SHELL_HELP = crlf(
    "Commands on this simulated board:",
    "  help             this list",
    "  uname [-asnrvmo] system information",
    "  uptime           how long the board has been running",
    "  echo [TEXT...]   print TEXT",
    "  date             the date and time (UTC)",
    "  whoami           the user you are logged in as",
    "  reboot           restart the board: the boot messages run again",
    "  exit, logout     back to the login prompt",
    "Keys: Ctrl-C cancels the line, Ctrl-U erases it, Ctrl-D on an empty line logs out.",
    "A serial break prints [break received]; during the autoboot countdown it stops autoboot.",
)

UBOOT_HELP = crlf(
    "boot      - boot the kernel (the default boot command)",
    "help      - this list",
    "printenv  - print the environment variables",
    "reset     - reset the board (the boot messages run again)",
    "version   - print the firmware and toolchain versions",
)

UBOOT_VERSION_TEXT = crlf(
    "",
    f"{UBOOT_VERSION} serial-bridge demo",
    "",
    "arm-linux-gnueabihf-gcc (GCC) 12.2.0",
    "GNU ld (GNU Binutils) 2.40",
)


def uboot_env(name: str) -> bytes:
    """What ``printenv`` prints: the variables, then the environment's size."""
    variables = [
        "arch=arm",
        f"board_name={name}",
        "baudrate=115200",
        "bootcmd=run distro_bootcmd",
        f"bootdelay={AUTOBOOT_SECONDS}",
        "console=ttyS0,115200",
        "fdtfile=demo-board.dtb",
        "stderr=serial@1c28000",
        "stdin=serial@1c28000",
        "stdout=serial@1c28000",
    ]
    size = sum(len(variable) + 1 for variable in variables)
    return crlf(*variables, "", f"Environment size: {size}/65532 bytes")


def format_date(wall: float) -> str:
    """The date as ``date`` prints it in UTC, independent of the host's locale."""
    t = time.gmtime(wall)
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC {t.tm_year}")


def format_uptime(wall: float, seconds: float) -> str:
    """The line ``uptime`` prints, after procps: time of day, time up, users, load."""
    t = time.gmtime(wall)
    minutes_total = int(seconds) // 60
    days, minutes_left = divmod(minutes_total, 24 * 60)
    hours, minutes = divmod(minutes_left, 60)
    up = ""
    if days:
        up = f"{days} day{'s' if days != 1 else ''}, "
    up += f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
    return (f" {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} up {up},  1 user,  "
            "load average: 0.00, 0.00, 0.00")
