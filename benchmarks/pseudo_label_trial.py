"""Pseudo-labels, measured without leaks: does adding test.csv's images, labelled by a teacher, help a student?

The teacher is a finished `train --folds K` run. For each fold, that fold's teacher network (which never saw the
fold's rows) labels test.csv; the test images it is at least `--threshold` sure of join the fold's training rows,
and a student trained on both is scored on the fold's rows (the last epoch), which neither network learned from. The
out-of-fold accuracy of the students is the estimate, comparable with the teacher's own. Prints one line for the
README's recipe table.

    python benchmarks/pseudo_label_trial.py runs/<fast --folds 5 run> --threshold 0.99 epochs=8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from kaggle_digits.allocator import keep_large_allocations
from kaggle_digits.data import load_test, load_train
from kaggle_digits.nn.network import Ensemble, build_network
from kaggle_digits.nn.serialize import load_model
from kaggle_digits.pipeline.parts import augmentation
from kaggle_digits.pipeline.plan import generators, plan_parts
from kaggle_digits.runfolder.folder import read_record
from kaggle_digits.runfolder.record import wilson_interval
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.fit import Split, Trainer

sys.path.insert(0, str(Path(__file__).parent))
from recipe_trial import parse_override


def show_epoch(trainer: Trainer) -> None:
    state = trainer.state
    print(f"  epoch {state.epoch}: held-out {state.last_accuracy:.4f}", flush=True)


def trial(teacher_dir: Path, data_dir: Path, threshold: float, overrides: list[str]) -> list[str]:
    """Train one student per fold of the teacher run; a line per fold, then the summary line."""
    record = read_record(teacher_dir)
    teachers, _ = load_model(teacher_dir / "model.npz")
    if not record.folds or not isinstance(teachers, Ensemble) or len(teachers.networks) != record.folds:
        raise SystemExit(f"{teacher_dir}: not a finished --folds run of single networks")
    train, test = load_train(data_dir), load_test(data_dir)
    config = record.config.replace(**dict(parse_override(o) for o in overrides))
    parts = plan_parts(train, record.config, 1, record.folds)  # the teacher's folds, rebuilt from its seeds
    X_test = test.features()  # (N_test, 784)
    started, correct, lines = time.perf_counter(), 0, []
    for part, teacher in zip(parts, teachers.networks, strict=True):
        X_eval, y_eval = train.features(part.held_out_idx), train.labels[part.held_out_idx]
        teacher_hits = int((teacher.predict(X_eval) == y_eval).sum())
        expected = round(record.fold_accuracies[part.fold] * len(y_eval))
        if teacher_hits != expected:
            raise SystemExit(f"fold {part.fold + 1}: teacher scores {teacher_hits} here, its record {expected}")
        proba = teacher.predict_proba(X_test)  # (N_test, 10)
        sure = proba.max(axis=1) >= threshold  # (N_test,)
        X_train = np.concatenate([train.features(part.train_idx), X_test[sure]])  # (n + kept, 784)
        y_train = np.concatenate([train.labels[part.train_idx], proba[sure].argmax(axis=1)])
        student_config = config.replace(seed=part.seed)
        _, init_rng, train_rng = generators(part.seed)
        student = build_network(architecture(student_config), init_rng)
        augment = augmentation(student_config)
        split = Split(X_train, y_train, X_eval, y_eval)
        Trainer(student, split, student_config, train_rng, augment, on_epoch=show_epoch).run()
        hits = int((student.predict(X_eval) == y_eval).sum())
        correct += hits
        lines.append(
            f"fold {part.fold + 1}: {hits / len(y_eval):.4f} (teacher {teacher_hits / len(y_eval):.4f}, "
            f"{int(sure.sum())} test images added)"
        )
        print(lines[-1], flush=True)
    seconds = time.perf_counter() - started
    low, high = wilson_interval(correct, len(train))
    shown = " ".join(overrides) or "(teacher's recipe)"
    lines.append(
        f"pseudo-labels ≥ {threshold:g}, student {shown} | {correct / len(train):.4f} ({low:.4f}–{high:.4f}) OOF, "
        f"{correct:,} of {len(train):,} (teacher {record.estimate.accuracy:.4f}) | "
        f"{int(seconds // 60)}:{int(seconds % 60):02d} for the students"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teacher", type=Path, help="a finished train --folds K run folder")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--threshold", type=float, default=0.0, help="the teacher's least softmax to keep an image")
    parser.add_argument("overrides", nargs="*", help="field=value pairs changing the student's TrainConfig")
    args = parser.parse_intermixed_args()
    keep_large_allocations()
    print(trial(args.teacher, args.data_dir, args.threshold, args.overrides)[-1])


if __name__ == "__main__":
    main()
