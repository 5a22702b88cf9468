"""Performance RNN configs: event vocabulary, controls and network size (cf. Magenta's performance_model.py)."""

from __future__ import annotations

from dataclasses import dataclass

STEPS_PER_SECOND = 100  # 10 ms steps, as in Magenta
MAX_SHIFT_STEPS = 100  # one time-shift event moves at most 1 s
DENSITY_BIN_RANGES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # notes/s bin edges: 8 one-hot bins
DENSITY_WINDOW_S = 3.0
PITCH_WINDOW_S = 5.0
DEFAULT_NOTE_DENSITY = 15.0  # Magenta's value when a density config gets no request
DEFAULT_PITCH_HISTOGRAM = (1.0,) * 12  # Magenta's: uniform


@dataclass(frozen=True)
class PerformanceConfig:
    """One Performance RNN configuration.

    Attributes:
        name: the config id, as in Magenta.
        description: one line for help and model cards.
        num_velocity_bins: velocity events (0 = none; every note plays at velocity 100).
        modulo: inputs use Magenta's modulo (circular) encoding instead of a one-hot event.
        density: conditioned on note density (8-bin one-hot of notes/s over the next 3 s).
        pitch: conditioned on a pitch-class histogram (12 values over the next 5 s).
        optional_conditioning: a leading input bit can switch conditioning off (--disable_conditioning); in
            Magenta only optional_multiconditioned_performance_with_dynamics has it, which we do not ship.
        layer_sizes: LSTM sizes used when training a new model (Magenta's are 512 x 3).
    """

    name: str
    description: str
    num_velocity_bins: int = 32
    modulo: bool = False
    density: bool = False
    pitch: bool = False
    optional_conditioning: bool = False
    layer_sizes: tuple[int, ...] = (128, 128)

    @property
    def num_classes(self) -> int:
        return 128 + 128 + MAX_SHIFT_STEPS + self.num_velocity_bins

    @property
    def event_input_size(self) -> int:
        # Modulo: for each of the 4 event types a valid bit and a (cos, sin) pair; notes add a pitch-class pair.
        return 16 if self.modulo else self.num_classes

    @property
    def control_size(self) -> int:
        size = (len(DENSITY_BIN_RANGES) + 1 if self.density else 0) + (12 if self.pitch else 0)
        return size + (1 if self.optional_conditioning else 0)

    @property
    def input_size(self) -> int:
        return self.control_size + self.event_input_size

    @property
    def controls(self) -> tuple[str, ...]:
        """The generation controls this config takes, by flag name."""
        return tuple(name for name, on in (("notes_per_second", self.density),
                                           ("pitch_class_histogram", self.pitch)) if on)


CONFIGS: dict[str, PerformanceConfig] = {
    c.name: c
    for c in (
        PerformanceConfig("performance", "Note-on, note-off and time-shift events; no dynamics (velocity 100).",
                          num_velocity_bins=0),
        PerformanceConfig("performance_with_dynamics", "Performance events plus 32 velocity bins."),
        PerformanceConfig("performance_with_dynamics_and_modulo_encoding",
                          "performance_with_dynamics with inputs in Magenta's modulo (circular) encoding.",
                          modulo=True),
        PerformanceConfig("density_conditioned_performance_with_dynamics",
                          "performance_with_dynamics conditioned on note density (notes per second).", density=True),
        PerformanceConfig("pitch_conditioned_performance_with_dynamics",
                          "performance_with_dynamics conditioned on a pitch-class histogram.", pitch=True),
        PerformanceConfig("multiconditioned_performance_with_dynamics",
                          "performance_with_dynamics conditioned on note density and a pitch-class histogram.",
                          density=True, pitch=True),
    )
}


def config_taking(control: str) -> list[str]:
    """Configs that take a control (for warnings that name where to go)."""
    return [c.name for c in CONFIGS.values() if control in c.controls]
