"""Code input for the kiosk: camera capture + decoding in a worker thread, HID keyboard-wedge scanners."""
from .decoder import decode_frame, normalise_scan
from .sources import CaptureSource, ImageFilesSource, FolderWatchSource, OpenCVCameraSource, open_source
from .camera import CameraWorker
from .second import SecondReader
from .hid import HIDAccumulator

__all__ = ["decode_frame", "normalise_scan", "CaptureSource", "ImageFilesSource", "FolderWatchSource",
           "OpenCVCameraSource", "open_source", "CameraWorker", "HIDAccumulator",
           "SecondReader"]
