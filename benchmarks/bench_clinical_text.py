"""Clinical text (notebook 08) over three seeds: does word order pay, on which mentions, and where?

- classification: micro-F1 of the bag of words, the BiLSTM, the BiLSTM on shuffled words and the oracle,
  over all test notes and over the notes that hold a negated / historical / family mention (all eight
  labels of those notes), plus each model's accuracy on the mentions of each of those contexts;
- language model: test perplexity of the add-k unigram and bigram models (k chosen on validation) and of
  the LSTM, over all tokens and over the frequency tokens;
- tagging: span F1 of the BiLSTM and the left-to-right LSTM tagger, over all spans and over DRUG spans.

Every function comes from the notebook itself (its exercise solutions and ``library`` cells, imported with
``labutils.notebook_code.load_notebook``); the sizes and epochs are the notebook's full-mode ones. Each seed
draws new notes and a new initialisation. Figures are mean ± standard deviation over the seeds.

Usage, from the repository root: ``python -m benchmarks.bench_clinical_text`` (about 4 minutes of CPU time,
8 minutes of wall time on a loaded shared 2-core machine; with LABUTILS_FAST=1 the notebook's FAST sizes,
a smoke test).
"""
from __future__ import annotations

import torch

from benchmarks.common import mean_spread, save, timed
from labutils.clinical_notes import contexts_of, generate_notes, labels_of, oracle_probability
from labutils.config import pick, set_threads
from labutils.notebook_code import load_notebook

SEEDS = (0, 1, 2)
N_TRAIN, N_VAL, N_TEST = pick(800, 3000), pick(300, 500), pick(800, 1500)
N_TAG_TRAIN = pick(800, 1500)
EPOCHS = {"classifier": pick(5, 4), "language model": pick(3, 4), "tagger": 3}
SUBSETS = ("negated", "history", "family")


def classification(nb, splits, vocab, seed):
    """Probabilities of each model on the test notes, and the training seconds of the (ordered) BiLSTM."""
    V, y_train = len(vocab), labels_of(splits["train"])
    samples = {part: nb.note_samples(splits[part], vocab) for part in splits}
    bow = nb.fit_bag_of_words(nb.bag_of_words(samples["train"], V), y_train)
    probabilities = {"oracle": oracle_probability(splits["test"]),
                     "bag of words": nb.bag_of_words_probabilities(bow, nb.bag_of_words(samples["test"], V))}
    seconds = {}
    for name, shuffle_seed in (("BiLSTM", None), ("BiLSTM, shuffled words", seed)):
        data = samples if shuffle_seed is None else {part: nb.note_samples(splits[part], vocab, shuffle_seed)
                                                     for part in splits}
        torch.manual_seed(seed)
        model = nb.NoteClassifier(V, base_rates=y_train.mean(axis=0))
        _, seconds[name] = timed(nb.train, model, data["train"], data["val"], nb.multilabel_loss, EPOCHS["classifier"],
                                 seed=seed, progress=False)
        probabilities[name] = torch.stack(nb.outputs_in_order(model, data["test"])).sigmoid().numpy()
    return probabilities, seconds["BiLSTM"]


def classification_rows(nb, probabilities, labels, contexts):
    """quantity -> model -> value for one seed."""
    rows = {"micro-F1, all test notes": {m: nb.micro_f1(labels, p) for m, p in probabilities.items()}}
    for context in SUBSETS:
        notes = (contexts == context).any(axis=1)
        rows[f"micro-F1, notes with a {context} mention"] = {
            m: nb.micro_f1(labels[notes], p[notes]) for m, p in probabilities.items()}
    for context in ("current", *SUBSETS):
        rows[f"accuracy on {context} mentions"] = {
            m: nb.accuracy_by_context(labels, p, contexts)[context] for m, p in probabilities.items()}
    return rows


def ngram_perplexities(nb, data, V):
    """Test perplexities of the add-k unigram and bigram models, k chosen on the validation notes for each."""
    as_log_probs = {"unigram": lambda table: (lambda b: table.expand(*b["tokens"].shape, V)),
                    "bigram": lambda table: (lambda b: table[b["tokens"]])}
    scores = {}
    for which, name in enumerate(as_log_probs):
        tables = {k: nb.ngram_log_probs(data["train"], V, k)[which] for k in (1.0, 0.1, 0.01, 0.001)}
        best = min(tables, key=lambda k: nb.perplexity_by_group(as_log_probs[name](tables[k]), data["val"])["all"])
        scores[name] = nb.perplexity_by_group(as_log_probs[name](tables[best]), data["test"])
    return scores


def language_model(nb, splits, vocab, seed):
    V = len(vocab)
    data = {part: nb.lm_samples(splits[part], vocab) for part in ("train", "val", "test")}
    scores = ngram_perplexities(nb, data, V)
    torch.manual_seed(seed)
    model = nb.LanguageModel(V)
    _, seconds = timed(nb.train, model, data["train"], data["val"], nb.lm_loss, EPOCHS["language model"], seed=seed,
                       progress=False)
    model.eval()
    scores["LSTM"] = nb.perplexity_by_group(lambda b: model(b["tokens"], b["lengths"]).log_softmax(dim=-1), data["test"])
    return {"perplexity, all test tokens": {m: s["all"] for m, s in scores.items()},
            "perplexity, frequency tokens": {m: s["FREQ"] for m, s in scores.items()}}, seconds


def tagging(nb, splits, vocab, seed):
    samples = {part: nb.note_samples(splits[part], vocab) for part in ("train", "val", "test")}
    true_tags = [note.tags for note in splits["test"]]
    rows = {"span F1, all spans": {}, "span F1, DRUG spans": {}}
    for name, bidirectional in (("BiLSTM tagger", True), ("left-to-right tagger", False)):
        torch.manual_seed(seed)
        tagger = nb.Tagger(len(vocab), bidirectional=bidirectional)
        nb.train(tagger, samples["train"][:N_TAG_TRAIN], samples["val"], nb.tag_loss, EPOCHS["tagger"], seed=seed,
                 progress=False)
        tags = nb.predicted_tags(tagger, samples["test"])
        rows["span F1, all spans"][name] = nb.span_scores(true_tags, tags)["f1"]
        rows["span F1, DRUG spans"][name] = nb.span_scores(true_tags, tags, "DRUG")["f1"]
    return rows


def run_seed(nb, seed):
    notes = generate_notes(N_TRAIN + N_VAL + N_TEST, seed=seed)
    splits = {"train": notes[:N_TRAIN], "val": notes[N_TRAIN:N_TRAIN + N_VAL], "test": notes[N_TRAIN + N_VAL:]}
    vocab = nb.build_vocabulary([[nb.BOS, *note.tokens, nb.EOS] for note in splits["train"]], min_count=2)
    probabilities, clf_seconds = classification(nb, splits, vocab, seed)
    results = {"classification": classification_rows(nb, probabilities, labels_of(splits["test"]), contexts_of(splits["test"]))}
    results["language model"], lm_seconds = language_model(nb, splits, vocab, seed)
    results["tagging"] = tagging(nb, splits, vocab, seed)
    results["training seconds"] = {"one BiLSTM classifier": {"BiLSTM": clf_seconds}, "LSTM language model": {"LSTM": lm_seconds}}
    return results


def main() -> None:
    set_threads(1)
    nb = load_notebook("08_clinical_text")
    per_seed = []
    for seed in SEEDS:
        per_seed.append(run_seed(nb, seed))
        print(f"seed {seed} done", flush=True)
    rows = []
    for task, quantities in per_seed[0].items():
        for quantity, models in quantities.items():
            for model in models:
                values = [result[task][quantity][model] for result in per_seed]
                rows.append({"task": task, "quantity": quantity, "model": model, "mean ± sd": mean_spread(values),
                             "per seed": " ".join(f"{v:.3f}" for v in values)})
    save("clinical_text", rows, notes=(
        f"Notebook 08 over seeds {SEEDS}: {N_TRAIN} training, {N_VAL} validation and {N_TEST} test notes per seed "
        f"(taggers: {N_TAG_TRAIN} training notes), epochs {EPOCHS}, 1 thread. 'notes with a X mention' pools all "
        "eight labels of the test notes that mention some condition in context X. Training seconds on a shared "
        "machine are pessimistic."))


if __name__ == "__main__":
    main()
