"""labutils.ehr: electronic-health-record data for notebooks 05 and 06.

- ``cohort``       ``EHRCohort`` (patients + visits tables), integer sequences, the patient-level split
- ``codes``        ICD-9 helpers (grouping, heart-failure codes) and the ``Vocabulary``
- ``parameters``   every parameter of the synthetic generator, with its rationale (``default_params``)
- ``generator``    the simulation: a synthetic cohort whose latent truth is known (``generate_cohort``)
- ``codebook``     the codes the generator can emit and which part of the state emits each
- ``oracle``       exact heart-failure scores from that latent truth (likelihood ratio, hazard)
- ``visit_oracle`` exact next-visit scores (code probabilities at t+1, or given the state at t; log gap)
- ``case_control`` the heart-failure case-control design (Choi et al. 2017) on any cohort
- ``tasks``        Doctor AI's next-visit task (Choi et al. 2016)
- ``batching``     ``LengthBuckets`` (batches of similar length) and ``make_collate`` (sample dicts -> dict batch)
- ``loaders``      MIMIC-III and MIMIC-IV as an ``EHRCohort``
- ``formats``      writing and reading the MIMIC CSV, Doctor AI and DL4H file formats

The API is described in each module; the names are a contract with the notebooks. The design of the
data (formats, cohort definition) is in ``docs/ehr-data.md``, the generator in ``docs/ehr-generator.md``.
"""
from .batching import LengthBuckets, make_collate
from .case_control import HFTask, hf_case_control, hf_diagnosis
from .codes import HF_ICD9_CODES, Vocabulary, build_vocabulary, group_icd9, icd9_dotted, is_hf_code
from .cohort import EHRCohort, patient_split
from .formats import read_dl4h, read_doctorai, to_dl4h, to_doctorai, to_mimic3_csv
from .generator import SyntheticEHR, generate_cohort
from .parameters import default_params
from .loaders import find_table, load_mimic3, load_mimic4, read_table
from .oracle import hf_hazard, hf_likelihood_ratio
from .visit_oracle import emission_probs, expected_log_gap, next_visit_given_t
from .tasks import NextVisitTask, doctor_ai_task

__all__ = ["EHRCohort", "Vocabulary", "build_vocabulary", "group_icd9", "icd9_dotted", "is_hf_code",
           "HF_ICD9_CODES", "SyntheticEHR", "generate_cohort", "default_params",
           "hf_likelihood_ratio", "hf_hazard", "emission_probs", "expected_log_gap", "next_visit_given_t",
           "HFTask", "NextVisitTask", "hf_case_control", "doctor_ai_task", "hf_diagnosis", "patient_split",
           "LengthBuckets", "make_collate",
           "load_mimic3", "load_mimic4", "find_table", "read_table",
           "to_mimic3_csv", "to_doctorai", "read_doctorai", "to_dl4h", "read_dl4h"]
