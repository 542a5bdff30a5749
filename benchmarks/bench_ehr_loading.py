"""Loading a MIMIC-III-scale extract: the generator writes ~59k admissions / ~650k diagnosis rows as
MIMIC-III-shaped CSVs, then ``load_mimic3`` reads them back (target ≤ 20 s on a 2-core CPU), and the
heart-failure case-control design is built from the loaded records (real-data path: no oracle).

Usage: python -m benchmarks.bench_ehr_loading   (FAST mode, LABUTILS_FAST=1: the smaller extract only)
"""
import tempfile
from pathlib import Path

from benchmarks.common import save, timed
from labutils.config import pick
from labutils.ehr import generate_cohort, hf_case_control, load_mimic3, to_mimic3_csv


def measure(n_patients):
    cohort, generate_s = timed(lambda: generate_cohort(n_patients, seed=0).cohort)
    with tempfile.TemporaryDirectory() as folder:
        _, write_s = timed(to_mimic3_csv, cohort, folder)
        diagnoses = sum(1 for _ in open(Path(folder) / "DIAGNOSES_ICD.csv")) - 1
        dx_only, load_dx_s = timed(load_mimic3, folder)
        _, load_all_s = timed(load_mimic3, folder, meds=True, procs=True)
    task, case_control_s = timed(hf_case_control, dx_only, obs_months=18, seed=0)
    return {"patients": len(cohort), "admissions": len(dx_only.visits), "diagnosis_rows": diagnoses,
            "generate_s": generate_s, "write_csv_s": write_s, "load_mimic3_dx_s": load_dx_s,
            "load_mimic3_all_tables_s": load_all_s, "hf_case_control_s": case_control_s,
            "hf_cases": int(task.labels.sum()), "hf_samples": len(task)}


def main():
    # 2,500 patients ≈ MIMIC-III's admission count; 12,000 ≈ its diagnosis-row count (our visits carry fewer codes)
    sizes = pick([2500], [2500, 12000])
    save("ehr_loading", [measure(n) for n in sizes],
         notes="MIMIC-III full release for scale: about 59k admissions and 650k diagnosis rows; target ≤ 20 s.")


if __name__ == "__main__":
    main()
