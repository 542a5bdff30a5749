"""Loading a MIMIC-III-scale extract: the generator writes ~59k admissions / ~650k diagnosis rows as
MIMIC-III-shaped CSVs, then ``load_mimic3`` reads them back (target ≤ 20 s on a 2-core CPU)."""
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import save  # noqa: E402
from labutils.ehr import generate_cohort, load_mimic3, to_mimic3_csv  # noqa: E402


def measure(n_patients):
    start = time.perf_counter()
    cohort = generate_cohort(n_patients, seed=0).cohort
    generate_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        to_mimic3_csv(cohort, folder)
        write_s = time.perf_counter() - start
        diagnoses = sum(1 for _ in open(Path(folder) / "DIAGNOSES_ICD.csv")) - 1
        start = time.perf_counter()
        dx_only = load_mimic3(folder)
        load_dx_s = time.perf_counter() - start
        start = time.perf_counter()
        load_mimic3(folder, meds=True, procs=True)
        load_all_s = time.perf_counter() - start
    return {"patients": len(cohort), "admissions": len(dx_only.visits), "diagnosis_rows": diagnoses,
                          "generate_s": generate_s, "write_csv_s": write_s, "load_mimic3_dx_s": load_dx_s,
                          "load_mimic3_all_tables_s": load_all_s}


def main():
    # 2,500 patients ≈ MIMIC-III's admission count; 12,000 ≈ its diagnosis-row count (our visits carry fewer codes)
    save("ehr_loading", [measure(2500), measure(12000)], notes="MIMIC-III full release for scale: about 59k admissions and 650k diagnosis rows; target ≤ 20 s.")


if __name__ == "__main__":
    main()
