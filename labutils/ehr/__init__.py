"""labutils.ehr: electronic-health-record data for notebooks 05 and 06.

- ``cohort``     ``EHRCohort`` (patients + visits tables), ICD-9 grouping, ``Vocabulary``, integer sequences
- ``generator``  a synthetic cohort whose latent truth is known (``generate_cohort``)
- ``oracle``     exact scores from that latent truth (HF likelihood ratio, next-visit code probabilities, log gap)
- ``tasks``      the HF case-control cohort (Choi et al. 2017) and Doctor AI next-visit sequences
- ``batching``   padding visit sequences into (N, T, C) multi-hot tensors with a mask, and a collate function

The API is described in each module; the names are a contract with the notebooks.
"""
from .cohort import (HF_ICD9_CODES, EHRCohort, Vocabulary, build_vocabulary, group_icd9, icd9_dotted,
                     is_hf_code)
from .generator import SyntheticEHR, default_params, generate_cohort
from .oracle import emission_probs, expected_log_gap, hf_hazard, hf_likelihood_ratio
from .batching import collate, pad_batch
from .tasks import HFTask, NextVisitTask, doctor_ai_task, hf_case_control, hf_diagnosis, patient_split

__all__ = ["EHRCohort", "Vocabulary", "build_vocabulary", "group_icd9", "icd9_dotted", "is_hf_code",
           "HF_ICD9_CODES", "SyntheticEHR", "generate_cohort", "default_params",
           "hf_likelihood_ratio", "hf_hazard", "emission_probs", "expected_log_gap",
           "HFTask", "NextVisitTask", "hf_case_control", "doctor_ai_task", "hf_diagnosis", "patient_split",
           "pad_batch", "collate"]

# Real-data loaders and file formats live in their own modules (written separately); re-export them when present.
import importlib.util as _util

for _name in ("loaders", "formats"):
    if _util.find_spec(f"{__name__}.{_name}") is not None:
        _module = __import__(f"{__name__}.{_name}", fromlist=["*"])
        _public = getattr(_module, "__all__", [n for n in vars(_module) if not n.startswith("_")])
        globals().update({n: getattr(_module, n) for n in _public})
        __all__ += [n for n in _public if n not in __all__]
