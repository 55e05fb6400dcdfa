"""How a descent run reports itself: the Result it returns and the progress bar it draws on a terminal."""
import os
import sys
from dataclasses import dataclass, field

from gradc.errors import GradcError


@dataclass
class Result:
    """The outcome of `gradc.optim.descent.minimize`.

    Attributes:
        params: {name: final value}; floats for scalars, float64 arrays otherwise.
        loss_history: the loss before each update, one entry per evaluated step.
        epoch_loss: one entry per completed epoch, the mean of its minibatch losses.
        grad_norm_history: the norm of the whole gradient at each evaluated step.
        lr_history: the learning rate of each update that was applied.
        n_iter: the number of updates applied.
        reason: why the run stopped, in words.
        status: the same as a word: "tol", "gtol", "max_iter", "epochs", "callback" or "diverged".
        divergence: None, or {"step", "lr", "loss", "nonfinite"} describing where the run blew up ("loss" is
            None when an update sent a parameter itself to inf or nan).
    """

    params: dict
    loss_history: list
    epoch_loss: list
    grad_norm_history: list
    lr_history: list
    n_iter: int
    reason: str
    status: str
    divergence: dict = field(default=None)

    @property
    def converged(self):
        """True when a stopping threshold (tol or gtol) ended the run."""
        return self.status in ("tol", "gtol")

    @property
    def diverged(self):
        return self.status == "diverged"

    @property
    def loss(self):
        """The last finite loss recorded (at the returned params unless a step was taken after it)."""
        return self.loss_history[-1] if self.loss_history else None

    def __repr__(self):
        loss = f"{self.loss:.6g}" if self.loss is not None else "none"
        return f"<Result {self.status}: {self.n_iter} updates, loss {loss}; {self.reason}>"

    def plot(self, path=None, ax=None, title=None):
        """Draws the loss per step (and per epoch, when there were minibatches).

        Args:
            path: save the figure there (the format follows the suffix; none means .png) and return the path.
            ax: draw onto this matplotlib Axes instead of a new figure.

        Returns:
            The path written when one was given, otherwise the matplotlib Figure.
        """
        try:
            from matplotlib.figure import Figure  # optional extra: pip install 'gradc[plot]'
        except ImportError:
            raise GradcError("Result.plot needs matplotlib: pip install 'gradc[plot]'") from None
        # A bare Figure, not pyplot, so that plotting never needs a display or touches global state.
        figure = ax.figure if ax is not None else Figure(figsize=(6, 4), layout="constrained")
        ax = ax if ax is not None else figure.add_subplot()
        ax.plot(range(len(self.loss_history)), self.loss_history, lw=1, label="loss per step")
        if self.epoch_loss and len(self.epoch_loss) != len(self.loss_history):
            steps = len(self.loss_history) / max(len(self.epoch_loss), 1)
            ends = [steps * (i + 1) - 1 for i in range(len(self.epoch_loss))]
            ax.plot(ends, self.epoch_loss, "o-", lw=2, label="mean loss per epoch")
        if self.loss_history and min(self.loss_history) > 0:
            ax.set_yscale("log")  # descent is usually geometric, a straight line on a log axis
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(title or f"{self.status}: {self.n_iter} updates")
        ax.legend()
        if path is None:
            return figure
        path = plot_path(path)
        figure.savefig(path, dpi=120)
        return path


def plot_path(path):
    """The file `Result.plot(path)` writes: `path`, with `.png` added where it has no suffix.

    matplotlib would add one too, but from its settings, and the caller would not know the name written.
    """
    text = os.fspath(path)
    return path if os.path.splitext(text)[1] else type(path)(text + ".png")  # a str stays a str, a Path a Path


class Progress:
    """tqdm's progress bar (`tqdm.auto`: a widget in a notebook, a line on a terminal), for long runs only.

    Like tqdm itself with `disable=None`, it stays quiet where the stream is not a terminal, and it shows
    nothing for runs that end within DELAY_S, so logs and test output never fill with carriage returns.
    tqdm is an optional extra (pip install 'gradc[progress]'); without it no bar is drawn.
    """

    DELAY_S = 1.0  # runs finishing within this never show a bar
    EVERY_S = 0.2  # redraw at most this often: printing each step would slow a fast loop

    def __init__(self, total, enabled=None, stream=None):
        self.bar = None
        if enabled is False:
            return
        try:
            from tqdm.auto import tqdm  # optional extra: pip install 'gradc[progress]'
        except ImportError:
            if enabled:
                raise GradcError("progress=True needs tqdm: pip install 'gradc[progress]'") from None
            return
        self.bar = tqdm(total=total, file=stream if stream is not None else sys.stderr, disable=None if enabled is None
                        else False, delay=self.DELAY_S, mininterval=self.EVERY_S, leave=False, unit="step",
                        dynamic_ncols=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()

    def update(self, done, loss):
        if self.bar is None or self.bar.disable:
            return
        self.bar.set_postfix_str(f"loss {loss:.3e}", refresh=False)
        self.bar.update(done - self.bar.n)
