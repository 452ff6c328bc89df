"""Synthetic CT instances for the import and sync tests (pydicom writes them)."""
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian


def ct_instance(root, study, series, n, patient_id, patient_name, accession, pixels, rows=16, cols=16):
    """A 12-bit CT slice: SOP Instance UID ROOT.study.series.n, in study ROOT.study and series ROOT.study.series."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = f"{root}.{study}.{series}.{n}"
    ds.StudyInstanceUID = f"{root}.{study}"
    ds.SeriesInstanceUID = f"{root}.{study}.{series}"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = "20260102", "101010", accession, str(study)
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", series, n
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient_name, patient_id, "19800101", "F"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.asarray(pixels, dtype=np.uint16).astype("<u2").tobytes()
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID, fm.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    fm.ImplementationClassUID = f"{root}.99"
    ds.file_meta = fm
    return ds
