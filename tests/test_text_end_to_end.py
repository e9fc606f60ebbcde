"""A CSV of reviews named alone: tuned, trained, and the saved model classifies new texts from
the command line and from Python."""

import tuner
from tests.data.test_text import reviews


def test_a_review_table_is_tuned_trained_and_predicts_new_texts(tmp_path, ray_session,
                                                                tuner_cli):
    reviews(120).to_csv(tmp_path / "reviews.csv", index=False)
    (tmp_path / "reviews.toml").write_text(
        f'name = "reviews"\n[data]\npath = "{tmp_path / "reviews.csv"}"\ntarget = "label"\n'
        f'folds = 1\n[search]\nsamples = 2\nmax_epochs = 3\nmetric = "accuracy"\n')
    storage = tmp_path / "r"
    code, out, err = tuner_cli("run", tmp_path / "reviews.toml", "--storage", storage)
    assert code == 0, out + err
    assert '  auto   factory = "text": 102 labelled texts of up to ' in out
    assert '  auto   arch = "bag": 84 training texts: below 100,000' in out
    assert "text column 'review'" in out and "tokenized on the training texts only" in out
    code, _, err = tuner_cli("predict", storage / "reviews", tmp_path / "reviews.csv")
    assert code == 2 and err.strip().endswith(
        "the experiment 'reviews' has no final model yet; run `tuner train --from reviews` (in "
        "Python: tuner.train_final('reviews')) first")
    # two seeds: model.pt is their ensemble, and predict reads it as one
    code, out, err = tuner_cli("train", "--from", "reviews", "--storage", storage, "--seeds", "2")
    assert code == 0, out + err
    assert "the ensemble of the 2 seeds (model.pt)" in out
    final = storage / "reviews" / "final"
    assert (final / "tokenizer.json").is_file()
    (tmp_path / "new.txt").write_text("a warm and funny film with a great cast\n\n"
                                      "dull, long and far too loud for me\n")
    code, out, err = tuner_cli("predict", final, tmp_path / "new.txt")
    assert code == 0, err
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [r[0] in ("fresh", "rotten") for r in rows] == [True, True]
    assert rows[1][2] == "dull, long and far too loud for me"
    assert 0.0 <= float(rows[0][1]) <= 1.0
    assert [r["text"] for r in tuner.predict(storage / "reviews", ["great cast"])] == [
        "great cast"]
    code, _, err = tuner_cli("predict", storage / "nothing", tmp_path / "new.txt")
    assert code == 2 and "predict: " in err
