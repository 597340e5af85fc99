"""Writes en_vader_tweets.tsv (evaluation only) from VADER's human-rated tweets (MIT).

Source: the PyPI sdist vaderSentiment-3.3.2 (additional_resources/hutto_ICWSM_2014.tar.gz):
4,200 real tweets, each rated from -4 to +4 by about 20 people (Hutto &
Gilbert, ICWSM 2014). Label: mean rating <= -0.5 negative, >= +0.5 positive, else neutral.

    pip download vaderSentiment==3.3.2 --no-deps --no-binary :all:
    python3 data/sentiment/import_vader.py vaderSentiment-3.3.2.tar.gz
"""
import html
import io
import os
import sys
import tarfile


def read(inner, suffix):
    member = next(m for m in inner.getmembers() if m.name.endswith(suffix))
    lines = inner.extractfile(member).read().decode("utf-8", "replace").splitlines()
    out = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        rating = float(parts[1])
        text = " ".join(html.unescape("\t".join(parts[2:])).split())
        label = "negative" if rating <= -0.5 else "positive" if rating >= 0.5 else "neutral"
        out.append(f"{label}\t{text}\n")
    return out


def main():
    outer = tarfile.open(sys.argv[1])
    inner_member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
    inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile(inner_member).read()))
    here = os.path.dirname(os.path.abspath(__file__))
    # Tweets: held out, for evaluation only (the closest to social-media mentions).
    tweets = read(inner, "tweets_GroundTruth.txt")
    with open(os.path.join(here, "en_vader_tweets.tsv"), "w", encoding="utf-8") as f:
        f.writelines(tweets)
    print(f"{len(tweets)} tweets written")


if __name__ == "__main__":
    main()
