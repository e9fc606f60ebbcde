"""Text in: a table's text column (detected or named) or a folder of .txt files per class,
tokenized on the training split only, with its lengths; the text models read it; bad input is
one line naming the key or file."""

import numpy as np
import pandas as pd
import pytest

from tuner.data import load_data
from tuner.errors import UserError

WHERE = "exp.toml: [data]"
SPLIT = (0.7, 0.15, 0.15)
GOOD = ["a warm and funny film with a great cast", "one of the best films of the year so far",
        "sharp writing, lovely music and a fine lead", "moving, clever and beautifully shot"]
BAD = ["the plot drags and the jokes fall flat", "i left before the end of it, sadly",
       "dull, long and far too loud for me", "a mess of a script and wooden acting"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reviews(n=200, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        good = i % 2 == 0
        pool = GOOD if good else BAD
        rows.append({"stars": int(rng.integers(1, 6)), "review": f"{rng.choice(pool)}. "
                     f"{rng.choice(pool)} (#{i})", "label": "fresh" if good else "rotten"})
    return pd.DataFrame(rows)


def load(path, **options):
    return load_data("file", split=SPLIT, seed=0, where=WHERE, path=str(path), **options)


def test_a_text_column_is_detected_tokenized_on_train_and_kept_with_its_lengths(in_tmp):
    reviews().to_csv("r.csv", index=False)
    s = load("r.csv", target="label")
    assert s.vocab_size > 20 and s.tokenizer and s.x_train.dtype == np.int32
    assert s.classes == ["fresh", "rotten"] and len(s.x_train) == 140
    assert s.summary().startswith("r.csv: 140 train / 30 valid / 30 test, input ")
    assert ("text column 'review' (a median of 17 words a value), target 'label'; left out "
            "column(s) 'stars': the text alone is read; tokenized on the training texts only: "
            ) in s.notes
    # lengths: the tokens of each text, padding after them; the longest training text whole
    assert ((s.x_train != 0).sum(axis=1) == s.lengths_train).all()
    assert s.input_shape == (s.x_train.shape[1],) == (s.lengths_train.max(),)
    assert f"texts padded to {s.input_shape[0]} tokens (the longest training text)" in s.notes
    # a word only the test texts hold is unknown ([UNK], id 1): nothing leaks from test
    from tokenizers import Tokenizer

    from tuner.data.text import text_splits

    frame = reviews()
    texts = frame["review"].to_numpy(dtype=object)
    texts[180:] = "zyzzyva " * 5
    parts = (np.arange(150), np.arange(150, 180), np.arange(180, 200))
    s = text_splits("at", "leak", texts, frame["label"].to_numpy(), None, SPLIT, 0,
                    {"length": 8}, WHERE, parts=parts)
    assert Tokenizer.from_str(s.tokenizer).token_to_id("zyzzyva") is None
    assert (s.x_test[:, :5] == 1).all() and s.input_shape == (8,)


@pytest.mark.parametrize("kind", ["word", "bpe", "wordpiece"])
def test_every_tokenizer_kind_trains_and_caps_its_vocabulary(in_tmp, kind):
    reviews().to_csv("r.csv", index=False)
    s = load("r.csv", target="label", text="review", tokenizer=kind, vocab=60)
    # WordPiece keeps every character of the training texts beside its 60 pieces
    assert 10 < s.vocab_size <= (60 if kind != "wordpiece" else 100)
    assert s.x_train.max() < s.vocab_size


def test_a_folder_of_txt_files_per_class_with_train_and_test_folders(in_tmp):
    for part, n in (("train", 30), ("test", 10)):
        for label, pool in (("pos", GOOD), ("neg", BAD)):
            d = in_tmp / "imdb" / part / label
            d.mkdir(parents=True)
            for i in range(n):
                (d / f"{i}.txt").write_text(f"{pool[i % 4]} and {pool[(i + 1) % 4]}")
    s = load("imdb")
    assert (len(s.x_train) + len(s.x_valid), len(s.x_test)) == (60, 20)
    assert s.classes == ["neg", "pos"]
    assert "80 .txt files in 2 class folders, train/test folders used as given" in s.notes


def test_bad_text_input_is_one_line(in_tmp):
    reviews().to_csv("r.csv", index=False)
    with pytest.raises(UserError) as e:
        load("r.csv", target="label", text="reveiw")
    assert str(e.value).startswith(f"{WHERE} text: no column 'reveiw' in r.csv (did you mean "
                                   f"'review'?)")
    blank = reviews().assign(review="   ")
    blank["review"] = [" ".join(["word"] * 8) if i < 0 else "" for i in range(len(blank))]
    blank.to_csv("blank.csv", index=False)
    with pytest.raises(UserError) as e:
        load("blank.csv", target="label", text="review")
    assert str(e.value) == f"{WHERE} path: blank.csv: no text in any row; give the column (or " \
                           f"files) that hold the texts"
    one = reviews()
    one.loc[0, "label"] = "plot"
    one.to_csv("one.csv", index=False)
    with pytest.raises(UserError) as e:
        load("one.csv", target="label")
    assert "'plot'" in str(e.value) and "1 example" in str(e.value)
    (in_tmp / "solo" / "pos").mkdir(parents=True)
    (in_tmp / "solo" / "pos" / "a.txt").write_text("fine")
    with pytest.raises(UserError) as e:
        load("solo")
    assert "holds 1 class folder(s)" in str(e.value)
    for label in ("pos", "neg"):
        (in_tmp / "latin" / label).mkdir(parents=True)
        for i in range(4):
            (in_tmp / "latin" / label / f"{i}.txt").write_text(GOOD[i])
    (in_tmp / "latin" / "neg" / "0.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(UserError) as e:
        load("latin")
    assert str(e.value) == (f"{WHERE} path: latin: latin/neg/0.txt is not UTF-8 text (byte 3); "
                            f"save it as UTF-8 or remove it")
    with pytest.raises(UserError) as e:
        load("r.csv", target="label", tokenizer="chars")
    assert str(e.value) == (f"{WHERE} tokenizer: must be one of word, bpe, wordpiece, but got "
                            f"'chars'")


@pytest.mark.parametrize("arch", ["bag", "rnn", "attention"])
def test_every_architecture_reads_padded_ids_to_their_lengths(arch):
    import torch

    from tuner.models import build_model

    config = {"arch": arch, "vocab_size": 50, "embed_dim": 16, "dropout": 0.0, "bigrams": True,
              "cell": "gru", "hidden_size": 32, "bidirectional": True, "pooling": "mean",
              "heads": 2, "encoder_layers": 1}
    torch.manual_seed(0)
    model = build_model("text", config, (12,), 3).eval()
    ids = torch.randint(2, 50, (4, 12), dtype=torch.int32)
    lengths = torch.tensor([12, 7, 3, 1])
    ids[1, 7:] = ids[2, 3:] = ids[3, 1:] = 0
    out = model(ids, lengths)
    assert out.shape == (4, 3) and torch.isfinite(out).all()
    # what lies past a text's length never changes its scores
    noisy = ids.clone()
    noisy[1, 7:] = 5
    noisy[3, 1:] = 9
    if arch != "bag":  # the bag reads ids, not lengths: padding is id 0 by construction
        assert torch.allclose(model(noisy, lengths)[[1, 3]], out[[1, 3]], atol=1e-5)
    out.sum().backward()


def test_the_bag_is_a_linear_model_on_scikit_learns_tf_idf_of_its_training_rows():
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tuner.models import build_model

    torch.manual_seed(0)
    model = build_model("text", {"arch": "bag", "vocab_size": 30, "bigrams": True,
                                 "dropout": 0.5}, (6,), 3)
    train = torch.randint(2, 20, (40, 6), dtype=torch.int32)
    train[::3, 4:] = 0  # shorter texts, padded
    test = torch.randint(2, 30, (10, 6), dtype=torch.int32)  # ids 20..29: never in training
    test[::4, 2:] = 0
    model.fit_rows(train, None)

    def grams(x):  # the n-gram ids a text holds, padding left out
        return [[str(i) for i in row.tolist() if i] for row in model.ngrams(x)]

    vec = TfidfVectorizer(analyzer=lambda g: g)  # smooth IDF, L2 rows: scikit-learn's defaults
    vec.fit(grams(train))
    with torch.no_grad():
        model.embed.weight.normal_()
        model.bias.normal_()
    weight = model.embed.weight.detach().numpy()
    columns = [int(g) for g in vec.get_feature_names_out()]
    expected = vec.transform(grams(test)) @ weight[columns] + model.bias.detach().numpy()
    got = model.eval()(test).detach().numpy()
    assert np.allclose(got, expected, atol=1e-5)
    assert (model.idf[20:30] == 0).all()  # never seen in training: weighs nothing
    # dropout drops whole n-grams in training only: scores change, the scale stays
    assert not torch.allclose(model.train()(test), model.eval()(test))


@pytest.mark.parametrize("folds", [1, 3])
def test_a_trial_fits_the_bags_weights_on_its_own_training_rows_only(folds):
    import torch

    from tuner.models import build_model
    from tuner.spaces import load_space
    from tuner.training.trial import Trial, TrialSetup

    reviews(200).to_csv("r.csv", index=False)
    data = load("r.csv", target="label", text="review").for_tuning()
    config = {"arch": "bag", "vocab_size": data.vocab_size, "bigrams": True, "dropout": 0.0,
              "optimizer": "adam", "lr": 0.01, "weight_decay": 0.0, "batch_size": 32,
              "lr_schedule": "none"}
    trial = Trial(config, data, TrialSetup("text", load_space("text"), 3, 0, folds=folds))
    x = torch.as_tensor(np.concatenate([data.x_train, data.x_valid]))
    for parts in trial.folds:
        rows = parts.batches.x  # what this model trains on
        assert len(rows) < len(x)
        fresh = build_model("text", config, data.input_shape, data.n_outputs)
        fresh.fit_rows(rows, None)
        assert torch.equal(parts.model.idf, fresh.idf)
    if folds == 1:
        assert torch.equal(trial.folds[0].batches.x, torch.as_tensor(data.x_train))
    assert trial.train_one_epoch()["accuracy"] > 0.9  # "warm", "dull": one word tells


def test_few_texts_fix_the_bag_and_many_tune_sequence_models_on_their_typical_length(in_tmp):
    from searchspaces.text import derive
    from tuner.auto import Profile
    from tuner.spaces import load_space

    reviews(200).to_csv("r.csv", index=False)
    p = Profile.of(load("r.csv", target="label"))
    space = load_space("text")
    assert p.kind == "text" and 10 <= p.typical_tokens <= p.steps
    found = {k: (v, why) for k, v, why in derive(p, space, "x")}
    assert found["arch"] == ("bag", "140 training texts: below 100,000, TF-IDF n-grams match or "
                             "beat recurrent and attention nets trained from scratch at a "
                             "fraction of the cost; to tune them anyway set [space] arch")
    assert "tokens" not in found  # inactive with the bag
    import dataclasses

    many = dataclasses.replace(p, n_fit=250_000, typical_tokens=700)
    found = {k: (v, why) for k, v, why in derive(many, space, "x")}
    assert "arch" not in found
    assert found["tokens"] == (400, "95 % of the training texts hold at most 700 tokens: "
                               "recurrent and attention models read the first 400 (at most "
                               "400: attention costs their square), the bag all")
    # a space whose arch the file set to the sequence models alone is left to tune them
    rnn = space.override({"arch": {"choice": ["rnn", "attention"]}})
    assert "arch" not in {k for k, _, _ in derive(p, rnn, "x")}


@pytest.mark.parametrize("arch", ["rnn", "attention"])
def test_sequence_models_read_only_their_first_tokens(arch):
    import torch

    from tuner.models import build_model

    config = {"arch": arch, "vocab_size": 50, "embed_dim": 16, "dropout": 0.0, "tokens": 5,
              "cell": "gru", "hidden_size": 32, "bidirectional": False, "pooling": "mean",
              "heads": 2, "encoder_layers": 1}
    torch.manual_seed(0)
    model = build_model("text", config, (12,), 3).eval()
    ids = torch.randint(2, 50, (3, 12), dtype=torch.int32)
    lengths = torch.tensor([12, 9, 4])
    ids[1, 9:] = ids[2, 4:] = 0
    later = ids.clone()
    later[:2, 5:9] = 7  # words past the fifth change nothing
    assert torch.allclose(model(ids, lengths), model(later, lengths), atol=1e-6)
