"""/arrange: a melody played by a band in a style (options, help, and the request it builds)."""

from __future__ import annotations

from typing import Any

from generation.families.arrange.styles import DEFAULT_STYLE, STYLE_NAMES, STYLES
from generation.families.chat import (
    MAX_BARS,
    QPM,
    SEED,
    ChatCommand,
    CommandLine,
    Option,
    bars,
    choice,
    numeric,
    on_off,
    outputs,
)

FAMILY = CONFIG = "arrange"  # the family and its one config (models/arrange: the style pulses)
TRAIN_COMMAND = "arrange_train"
LOW, HIGH = 21, 108  # the melody's range: the harmoniser voices under it down to A1
BAR = 16
TEMPERATURE = numeric("temperature", "how far the drummer's feel strays from the usual, and how freely the chords of "
                      "a second or later output are drawn (0.5 = Magenta's)", 0.5, float, 0.1, 1.5, "0.1-1.5")
OPTIONS: tuple[Option, ...] = (
    Option("style", "the band: rock guitars, pop piano and synths, a jazz quartet, classical strings", DEFAULT_STYLE,
           choice(STYLE_NAMES), " | ".join(STYLE_NAMES), choices=STYLE_NAMES),
    Option("drums", "drums or none (default: the style's; classical has none)", None, on_off, "on | off",
           choices=("on", "off"), kind=bool),
    bars("length in bars (default: the melody's, rounded up to whole bars; a longer melody is cut)", None),
    QPM, TEMPERATURE, outputs("arrangements"), SEED,
)


def build(line: CommandLine, values: dict[str, Any], words: list[tuple[str, int]],
          attached: tuple[int, ...] | None) -> dict[str, Any]:
    if attached:
        if words:
            raise line.error(words[0][0], "give a typed melody or a MIDI file (attached or linked), not both",
                             words[0][1])
        melody = tuple(attached)
    elif words:
        melody = line.melody_words(words)
    else:
        raise line.error(line.tokens[0], "no melody given: type one (e.g. /arrange C4 - E4 - G4 - - - style:jazz), "
                         "attach a MIDI melody, or give the share link of an earlier result", 0)
    if not any(e >= 0 for e in melody):
        raise line.error(words[0][0] if words else "", "the melody has no notes to arrange", -1)
    line.check_range(melody, LOW, HIGH, "the arranger", "", bool(attached))
    count = values.get("bars") or -(-len(melody) // BAR)
    if count > MAX_BARS:
        raise line.error("", f"the melody lasts {len(melody)} 16th notes ({count} bars); at most {MAX_BARS} bars "
                         "can be arranged at once (bars: takes its opening)", -1)
    steps = count * BAR
    cut = melody[:steps]
    if not any(e >= 0 for e in cut):
        raise line.error_at("bars:", f"the melody's first {count} bar{'s' * (count > 1)} have no notes; add bars")
    style = values.get("style", DEFAULT_STYLE)
    drums = values.get("drums")
    return {"config": CONFIG, "melody": cut, "num_steps": steps, "style": style,
            "drums": STYLES[style].drums if drums is None else drums}


COMMANDS = (ChatCommand(
    name="arrange",
    usage="/arrange MELODY [option:value ...]  - your melody played by a band: chords, bass and drums in a style "
          "(rock, pop, jazz, classical)",
    example="e.g. /arrange https://.../s/A style:jazz    /arrange C4 - E4 - G4 - E4 - C4 - - - style:rock    "
            "or attach a MIDI melody",
    positional="melody: one word per 16th note (C4, F#5, 60; - holds, r rests), or a result's share link, or an "
               "attached MIDI file; it stays note for note on top. The bands: " + "; ".join(
                   f"{s.name}: {s.band}" for s in STYLES.values()),
    options=OPTIONS, build=build,
    description="Your melody played by a band in a style: rock, pop, jazz or classical (see /help arrange)",
    positional_name="melody",
    positional_help="one word per 16th note: C4 - E4 - G4 r (- holds, r rests), a share link, or attach midi",
    attachment_help="a MIDI melody (its top line is the tune)",
    default_temperature=TEMPERATURE.default,
    describe=lambda words, config: ("A melody arranged for a band",
                                    "A melody arranged for a band: chords and bass from lead sheets (the lead-sheet "
                                    "harmoniser), drums played on its rhythm (GrooVAE)", "Arrangement"),
),)
