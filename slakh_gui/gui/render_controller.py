"""Rendering from the window: the question before an existing track folder would be replaced, the render job,
its progress in the track list and the render panel, and what cancel or failure leave on screen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from slakh_gui.core.jobs import Progress
from slakh_gui.core.studio.project import ProjectError
from slakh_gui.gui.job_runner import Job

if TYPE_CHECKING:
    from slakh_gui.gui.main_window import MainWindow

STAGES = {"render": (0, 85), "mix": (85, 90), "write": (90, 100)}  # percent of the whole render per stage


class RenderController(QObject):
    """Starts and follows one render at a time; ``win.renderFinished`` is emitted last (result or None)."""

    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.project = win.project
        self.job: Job | None = None
        self.pending: Progress | None = None  # the newest progress report, painted on the UI timer
        self.stem_progress: dict[str, float] = {}
        self.status_before: dict[str, str] = {}
        self.result = None
        self.sample_rate = self.project.sample_rate

    def ask_existing(self, existing: Path, free: int) -> str:
        """A render would replace ``existing``: "next" (render to Track ``free``), "replace" or "cancel"
        (tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Track folder exists",
                          f"{existing} already exists.\n\nRender to a new folder, or replace it (the old folder is "
                          "swapped out only once the new render is complete)?", QMessageBox.StandardButton.Cancel,
                          self.win)
        new = box.addButton(f"Render to Track{free:05d}", QMessageBox.ButtonRole.AcceptRole)
        replace = box.addButton(f"Replace {existing.name}", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(new)
        box.exec()
        return "next" if box.clickedButton() is new else "replace" if box.clickedButton() is replace else "cancel"

    def start(self) -> Job | None:
        """Render the document's song; an existing track folder is asked about, never silently replaced."""
        p, win = self.project, self.win
        if self.job is not None:
            return None
        try:
            try:
                plan = p.render_plan()
            except FileExistsError:
                choice = self.ask_existing(p.track_dir(), p.next_free_track_number())
                if choice == "cancel":
                    win.status_label.setText(f"Render cancelled: {p.track_dir().name} kept")
                    return None
                if choice == "next":
                    p.set_output(track_number=p.next_free_track_number())
                plan = p.render_plan(overwrite=choice == "replace")
        except ProjectError as exc:
            win.show_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            return None
        win.stop()
        self.status_before = dict(win.model.status)
        self.stem_progress = {k: 0.0 for k, t in plan.assignment.tracks.items() if t.patch_id}
        for key in self.stem_progress:
            win.model.set_status(key, "queued")
        self.result = None
        self.sample_rate = plan.options.sample_rate
        win.render_panel.set_busy(True)
        win.progress.setValue(0)
        win.progress.show()
        win.status_label.setText(f"Rendering {plan.song.path.name} → {plan.out_dir} …")
        self.job = win.runner.start(p.render, plan, slot="render", on_progress=self._progress,
                                    on_result=self._done, on_error=self._failed, on_cancelled=self._cancelled,
                                    on_finished=self._finished)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.win.status_label.setText("Cancelling …")

    def _progress(self, p: Progress) -> None:  # many per second: store, paint on the UI timer
        self.pending = p
        if p.item:
            self.stem_progress[p.item] = p.item_fraction

    def tick(self) -> None:
        """Paint the newest progress: the bars, and each stem's row (done stems wait for the mix quietly)."""
        p = self.pending
        if p is None:
            return
        lo, hi = STAGES.get(p.stage, (0, 100))
        value = int(lo + (hi - lo) * p.fraction)
        self.win.progress.setValue(value)
        self.win.render_panel.progress.setValue(value)
        model = self.win.model
        for key, frac in self.stem_progress.items():
            if p.stage != "render" and frac >= 1:
                model.set_status(key, "mixing" if p.stage == "mix" else "writing")
            elif 0 < frac < 1:
                model.set_status(key, f"{frac * 100:.0f} %")
            elif frac >= 1:
                model.set_status(key, "done")

    def _done(self, done) -> None:
        self.pending = None  # a progress report still queued must not repaint the finished rows
        result, peaks = done
        win, md = self.win, result.metadata
        self.project.set_render_result(result, peaks, self.sample_rate)
        for key in md["stems"]:
            if key in (result.stems or {}):
                win.model.set_status(key, "reused" if key in result.reused else "rendered")
            elif key in self.stem_progress:
                win.model.set_status(key, "silent")
        reused = f", {len(result.reused)} reused" if result.reused else ""
        kits = "".join(f"\n{key}: {why}" for key, why in result.kit_fallbacks.items())
        win.render_panel.result_label.setText(f"Wrote {result.path}\n{len(result.rendered)} stems{reused}, "
                                              f"overall gain {md['overall_gain']:.3f}{kits}")
        win.status_label.setText(f"Rendered {len(result.rendered)} stems to {result.path}")
        self.result = result

    def _failed(self, exc: Exception) -> None:
        self._restore_statuses()
        self.win.render_panel.result_label.setText("Render failed: nothing was written")
        self.win.show_error(f"Render failed: {exc}")

    def _cancelled(self) -> None:
        self._restore_statuses()
        self.win.render_panel.result_label.setText("Render cancelled: nothing was written")
        self.win.status_label.setText("Render cancelled; nothing was written")

    def _restore_statuses(self) -> None:
        """Rows show what they showed before the render; a stem that was being rendered says "cancelled"."""
        self.pending = None  # a progress report still queued must not repaint a stem as "done" afterwards
        for key in self.stem_progress:
            frac = self.stem_progress.get(key, 0.0)
            self.win.model.set_status(key, "cancelled" if 0 < frac < 1 else self.status_before.get(key, ""))

    def _finished(self) -> None:
        job, self.job, self.pending = self.job, None, None
        panel = self.win.render_panel
        if job is not None and job.cancelled:
            panel.progress.setValue(0)
        elif self.result is not None:
            panel.progress.setValue(100)
        panel.set_busy(False)
        self.win.progress.hide()
        result, self.result = self.result, None
        self.win.renderFinished.emit(result)  # last, when a new render may start
