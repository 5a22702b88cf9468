"""The one sampling driver: temperature, Magenta's beam search and seeded draws, the whole search compiled.

A family supplies a `Stepper`: its carry (RNN state plus whatever its inputs need), and one step that maps the
carry to log-probabilities over its classes (`log_probs`) and turns the drawn class into the next carry
(`take`: forced classes of a primer or an injection, per-step controls, finished rows). A family whose draw is
not one categorical (the RNN-NADE's 88 Bernoulli keys) overrides `step` whole. `sample` then runs everything in
one `tf.function`: plain sampling, and Magenta's beam search (models/shared/sequence_generator, common/
beam_search): the beam starts as the primer, and each iteration extends each of the `beam_size` kept rows
`branch_factor` times by `steps_per_iteration` steps and keeps the `beam_size` most likely rows of each output;
the first iteration is the shorter one, so the others all take `steps_per_iteration` steps.

Randomness is stateless and seeded: iteration k of the search (k = 0: the primer, or all of plain sampling)
draws with row k of a table from `numpy.random.default_rng(seed)`, folding in the step index, so the same
seed gives the same music on any run and any batch size.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from generation.engine.rnn import EventRnn
from generation.engine.tf_runtime import tf

FREE = -1  # in OneHotStepper's `forced`: the model chooses this step
MAX_SEED_ROWS = 1 << 16  # seeds repeat after this many search iterations


@dataclass(frozen=True)
class SearchSettings:
    """Magenta's generation options with Magenta's defaults."""

    temperature: float = 1.0
    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1


class Stepper(tf.Module):
    """One step of a family's model for a batch of rows; `sample` runs it.

    `carry` is any nest of tensors whose first axis is the row; `inputs` a nest of the request's tensors
    (Python values in it are fixed per trace, e.g. which controls are on). Step s makes the s-th step
    after the carry `sample` starts from. Steps are traced as written, without AutoGraph: a loop inside a
    step is a tf.while_loop, a choice per row a tf.where.
    """

    emitted_dtype: tf.DType = tf.int32
    emitted_shape: tuple[int, ...] = ()  # what one row emits per step
    open_ended = False  # rows end by themselves (`finished`); `steps` is then a bound, and every search
    # iteration takes steps_per_iteration steps (the number of steps left is not known)
    distinct = False  # a beam keeps only distinct rows of each output (forced stretches do not fill it)

    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        """[B, classes] log-probabilities to draw from, and whatever `take` needs (e.g. the new RNN state)."""
        raise NotImplementedError

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        """The drawn classes [B] (or forced ones) taken: (new carry, emitted [B, ...], log-probability [B])."""
        raise NotImplementedError

    def step(self, carry: Any, inputs: Any, s: tf.Tensor, seed: tf.Tensor, temperature: tf.Tensor
             ) -> tuple[Any, tf.Tensor, tf.Tensor]:
        """One categorical draw per row between `log_probs` and `take`."""
        logp, pending = self.log_probs(carry, inputs, s, temperature)
        drawn = tf.random.stateless_categorical(logp, 1, seed=seed, dtype=tf.int32)[:, 0]
        return self.take(carry, pending, inputs, s, drawn, logp)

    def finished(self, carry: Any, inputs: Any) -> tf.Tensor:
        """[B] rows that have ended (open-ended steppers only)."""
        raise NotImplementedError

    def iteration_seed(self, seeds: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
        """The [2] seed of search iteration k: row k of the seed table."""
        return tf.gather(seeds, k % tf.shape(seeds)[0])

    def draw_seed(self, seed: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
        """The [2] seed of step s: the iteration's seed with the step folded in."""
        return seed + tf.stack([0, s])


class OneHotStepper(Stepper):
    """An event RNN whose input is [control row of the next step, one-hot of the last class] (Improv, Drums).

    Carry: (RNN state, last class [B]). Inputs: (controls [T + 1, C], forced [T] class or FREE); step s makes
    event s + 1 and scores forced events too, so a beam's totals include the primer as Magenta's do.
    """

    def __init__(self, model: EventRnn, num_classes: int, fold: bool = False) -> None:
        """`fold`: feed the one-hot through EventRnn.fold_one_hot, a table row instead of a matmul over
        `num_classes` columns (drum_kit: about a third less time per step). The same function rounded
        differently in the last bits, which changes a rare draw (drum_kit: about 1 track in 1,400), so it is off
        where a seed must keep giving the music it gave."""
        super().__init__(name="one_hot_stepper")
        self.model = model
        self.num_classes = num_classes
        self.fold = model.fold_one_hot(model.input_size - num_classes) if fold else None

    def model_input(self, last: tf.Tensor, controls: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
        """[B, C + classes]: step s's control row beside the one-hot of each row's last class. Gathers rather
        than slices and tiles: every op in the loop costs about half a microsecond, however small."""
        return tf.concat([tf.gather(controls, tf.fill(tf.shape(last), s + 1)), tf.one_hot(last, self.num_classes)],
                         axis=1)

    def log_probs(self, carry: Any, inputs: Any, s: tf.Tensor, temperature: tf.Tensor) -> tuple[tf.Tensor, Any]:
        state, last = carry
        if self.fold is None:
            logits, state = self.model.step(self.model_input(last, inputs[0], s), state)
        else:
            controls = tf.gather(inputs[0], tf.fill(tf.shape(last), s + 1))
            logits, state = self.model.step_one_hot(self.fold, controls, last, state)
        return tf.nn.log_softmax(logits / temperature), state

    def take(self, carry: Any, pending: Any, inputs: Any, s: tf.Tensor, drawn: tf.Tensor,
             log_probs: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor]:
        forced = tf.gather(inputs[1], s + 1)
        take = tf.where(forced >= 0, forced, drawn)
        return (pending, take), take, tf.gather(log_probs, take, batch_dims=1)

    def sample(self, controls: np.ndarray, forced: np.ndarray, num_outputs: int, settings: SearchSettings,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Classes [num_outputs, len(forced)] (forced[0], which must be given, first) and their log-probabilities.

        The leading forced classes are the primer: fed, not searched.
        """
        if forced[0] < 0:
            raise ValueError("the first event must be given")
        free = np.flatnonzero(forced < 0)
        first = np.full(num_outputs, forced[0], np.int32)
        carry = (self.model.zero_state(num_outputs), tf.constant(first))
        rows, logp = sample(self, carry, (tf.constant(controls, tf.float32), tf.constant(forced, tf.int32)),
                            steps=len(forced) - 1, primer_steps=int(free[0]) - 1 if len(free) else len(forced) - 1,
                            settings=settings, seed=seed)
        return np.concatenate([first[:, None], rows], axis=1), logp


def sample(stepper: Stepper, carry: Any, inputs: Any, *, steps: int, primer_steps: int, settings: SearchSettings,
           seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Run `stepper` from `carry` (one row per output) for `steps` steps: plain sampling or beam search.

    Args:
        stepper: the family's step.
        carry: the rows' carry before the first step, one row per output.
        inputs: the request's tensors for the step (and Python values fixed per trace).
        steps: steps to make (open-ended steppers: at most; the rows' own end comes first).
        primer_steps: the leading steps that are forced (a primer): beam search feeds them before it branches.
        settings: temperature and Magenta's beam options.
        seed: fixes every draw.

    Returns:
        What each output emitted at each step, [outputs, steps made, *emitted_shape] (an open-ended stepper's
        rows emit whatever it pads with after their end), and each output's log-probability of it (the sum
        of what `take` scored; for a beam, the winning row's).
    """
    if min(settings.beam_size, settings.branch_factor, settings.steps_per_iteration) < 1 or settings.temperature <= 0:
        raise ValueError(f"invalid search settings {settings}")
    plain = settings.beam_size == 1 and settings.branch_factor == 1
    spi = settings.steps_per_iteration
    primer = steps if plain else min(primer_steps, steps)
    rest = steps - primer
    first = spi if stepper.open_ended or rest == 0 else (rest - 1) % spi + 1  # Magenta: the first is the short one
    iterations = 0 if plain else -(-rest // spi)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(min(MAX_SEED_ROWS, iterations + 1), 2),
                                                 dtype=np.int64)
    flat = tf.nest.flatten(inputs)
    tensors = [v for v in flat if isinstance(v, tf.Tensor)]
    static = tuple((i, v) for i, v in enumerate(flat) if not isinstance(v, tf.Tensor))
    plan = tf.constant([settings.beam_size, settings.branch_factor, primer, first, spi, steps], tf.int32)
    run = _compiled(stepper, inputs, static, carry, tensors)
    rows, logp = run(carry, tensors, tf.constant(seeds, tf.int32), tf.constant(settings.temperature, tf.float32),
                     plan)
    return rows.numpy(), logp.numpy()


def _compiled(stepper: Stepper, inputs: Any, static: tuple[tuple[int, Hashable], ...], carry: Any,
              tensors: list[tf.Tensor]) -> Any:
    """The search traced once per stepper and static inputs, for any batch, length and settings.

    Traced as written, without AutoGraph (whose conversion of the driver and the steps cost about a second
    per process): the loops are tf.while_loop, and a step's own loops must be too.
    """
    cache: dict[Any, Any] = stepper.__dict__.setdefault("_searches", {})
    key = (static, tuple((t.dtype, t.shape.rank) for t in [*tf.nest.flatten(carry), *tensors]))
    if key not in cache:
        def loose(t: tf.Tensor) -> tf.TensorSpec:
            return tf.TensorSpec([None] * t.shape.rank, t.dtype)

        def search(carry: Any, tensors: list[tf.Tensor], seeds: tf.Tensor, temperature: tf.Tensor,
                   plan: tf.Tensor) -> Any:
            fixed, values = dict(static), iter(tensors)
            flat = [fixed[i] if i in fixed else next(values) for i in range(len(fixed) + len(tensors))]
            return _search(stepper, carry, tf.nest.pack_sequence_as(inputs, flat), seeds, temperature,
                           *tf.unstack(plan, 6))

        signature = [tf.nest.map_structure(loose, carry), [loose(t) for t in tensors],
                     tf.TensorSpec([None, 2], tf.int32), tf.TensorSpec([], tf.float32), tf.TensorSpec([6], tf.int32)]
        # The concrete function: calling it skips tf.function's per-call signature matching.
        cache[key] = tf.function(search, input_signature=signature, autograph=False).get_concrete_function()
    return cache[key]


def _search(stepper: Stepper, carry: Any, inputs: Any, seeds: tf.Tensor, temperature: tf.Tensor,
            beam: tf.Tensor, branch: tf.Tensor, primer: tf.Tensor, first: tf.Tensor, spi: tf.Tensor,
            steps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Iteration 0 feeds the primer (plain sampling: makes everything); iterations 1.. branch, step and prune.

    Rows are grouped by output (`owner`) in every iteration, in the order Magenta's bookkeeping gives them,
    so each row's draws depend only on the seed, the step and its place.
    """
    outputs = tf.shape(tf.nest.flatten(carry)[0])[0]
    item = [None, None, *stepper.emitted_shape]
    blocks = tf.TensorArray(stepper.emitted_dtype, size=0, dynamic_size=True, infer_shape=False, element_shape=item)
    links = tf.TensorArray(tf.int32, size=0, dynamic_size=True, infer_shape=False, element_shape=[None])

    def going(k: tf.Tensor, s: tf.Tensor, carry: Any, *_: Any) -> tf.Tensor:
        return (k == 0) | ((s < steps) & _going(stepper, carry, inputs))

    def iteration(k: tf.Tensor, s: tf.Tensor, carry: Any, total: tf.Tensor, owner: tf.Tensor, kept: tf.Tensor,
                  blocks: tf.TensorArray, links: tf.TensorArray) -> tuple:
        # Branch: each output's rows are copied so that it has about beam_size x branch_factor of them.
        per_output = tf.gather(tf.math.bincount(owner, minlength=outputs, maxlength=outputs), owner)
        reps = tf.where(k == 0, 1, tf.maximum(branch, (beam * branch + per_output - 1) // per_output))
        parent = tf.repeat(tf.range(tf.shape(owner)[0]), reps)
        carry, total, owner = _rows((carry, total, owner), parent)
        links = links.write(k, tf.gather(kept, parent))
        same = tf.equal(parent[:, None], parent[None, :]) if stepper.distinct else tf.zeros([0, 0], tf.bool)
        n = tf.minimum(tf.where(k == 0, primer, tf.where(k == 1, first, spi)), steps - s)
        carry, block, gained, same, made = _steps(stepper, carry, inputs, seeds, k, s, n, temperature, same)
        total = total + gained
        kept = tf.cond(k > 0, lambda: _prune(total, owner, same if stepper.distinct else None, beam),
                       lambda: tf.range(tf.shape(owner)[0]))
        carry, total, owner = _rows((carry, total, owner), kept)
        return k + 1, s + made, carry, total, owner, kept, blocks.write(k, block), links

    start = (tf.constant(0), tf.constant(0), carry, tf.zeros([outputs]), tf.range(outputs), tf.range(outputs),
             blocks, links)
    k, _, _, total, owner, kept, blocks, links = tf.while_loop(going, iteration, start)

    def followed() -> tuple[tf.Tensor, tf.Tensor]:
        """The best row of each output, followed back through the iterations."""
        best = _prune(total, owner, None, 1)

        def back(j: tf.Tensor, rows: tf.Tensor, out: tf.TensorArray) -> tuple:
            return j - 1, tf.gather(links.read(j), rows), out.write(j, tf.gather(blocks.read(j), rows, axis=1))

        out = tf.TensorArray(stepper.emitted_dtype, size=k, infer_shape=False, element_shape=item)
        _, _, out = tf.while_loop(lambda j, *_: j >= 0, back, (k - 1, tf.gather(kept, best), out))
        return out.concat(), tf.gather(total, best)

    # Plain sampling made one iteration, one row per output: nothing to choose or follow.
    emitted, logp = tf.cond(k > 1, followed, lambda: (blocks.read(0), total))
    perm = tf.concat([[1, 0], tf.range(2, tf.rank(emitted))], axis=0)
    return tf.transpose(emitted, perm), logp


def _rows(nest: Any, idx: tf.Tensor) -> Any:
    return tf.nest.map_structure(lambda t: tf.gather(t, idx), nest)


def _going(stepper: Stepper, carry: Any, inputs: Any) -> tf.Tensor:
    if not stepper.open_ended:
        return tf.constant(True)
    return tf.logical_not(tf.reduce_all(stepper.finished(carry, inputs)))


def _steps(stepper: Stepper, carry: Any, inputs: Any, seeds: tf.Tensor, k: tf.Tensor, s: tf.Tensor, n: tf.Tensor,
           temperature: tf.Tensor, same: tf.Tensor) -> tuple[Any, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Up to n steps of every row (fewer once all rows of an open-ended stepper are finished).

    Returns the carry, what was emitted [made, B, ...], each row's summed log-probability, `same` (which rows
    are still identical) and the number of steps made.
    """
    batch = tf.shape(tf.nest.flatten(carry)[0])[0]
    seed = stepper.iteration_seed(seeds, k)

    def step(i: tf.Tensor, carry: Any, emitted: tf.TensorArray, gained: tf.Tensor, same: tf.Tensor) -> tuple:
        t = s + i
        carry, e, logp = stepper.step(carry, inputs, t, stepper.draw_seed(seed, t), temperature)
        if stepper.distinct:
            equal = tf.equal(e[:, None], e[None, :])
            same = same & tf.reduce_all(tf.reshape(equal, [batch, batch, -1]), axis=2)
        return i + 1, carry, emitted.write(i, e), gained + logp, same

    def more(i: tf.Tensor, carry: Any, *_: Any) -> tf.Tensor:
        return (i < n) & _going(stepper, carry, inputs) if stepper.open_ended else i < n

    emitted = tf.TensorArray(stepper.emitted_dtype, size=0, dynamic_size=True,
                             element_shape=[None, *stepper.emitted_shape])
    made, carry, emitted, gained, same = tf.while_loop(more, step, (tf.constant(0), carry, emitted,
                                                                    tf.zeros([batch]), same))
    block = tf.cond(made > 0, emitted.stack,
                    lambda: tf.zeros([0, batch, *stepper.emitted_shape], stepper.emitted_dtype))
    return carry, block, gained, same, made


def _prune(total: tf.Tensor, owner: tf.Tensor, same: tf.Tensor | None, k: tf.Tensor | int) -> tf.Tensor:
    """Indices of the k most likely rows of each output (distinct ones if `same` is given), outputs in order.

    Ties keep the earlier row, as Magenta's heapq.nlargest does.
    """
    by_score = tf.argsort(-total, stable=True)
    order = tf.gather(by_score, tf.argsort(tf.gather(owner, by_score), stable=True))
    if same is None:
        fresh = tf.ones_like(order, tf.bool)
    else:
        position = tf.range(tf.shape(order)[0])
        earlier = position[:, None] > position[None, :]
        fresh = ~tf.reduce_any(tf.gather(tf.gather(same, order), order, axis=1) & earlier, axis=1)
    sorted_owner = tf.gather(owner, order)
    block_start = tf.searchsorted(sorted_owner[None, :], sorted_owner[None, :], side="left")[0]
    counted = tf.cumsum(tf.cast(fresh, tf.int32))
    rank = counted - tf.gather(counted - tf.cast(fresh, tf.int32), block_start) - 1
    return tf.boolean_mask(order, fresh & (rank < k))


__all__ = ["FREE", "OneHotStepper", "SearchSettings", "Stepper", "sample"]
