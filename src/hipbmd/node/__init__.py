"""A DICOM node: receives radiographs from a modality or a PACS, estimates them, and sends the results on.

:mod:`~hipbmd.node.inbox` keeps what was received on disk until its results are delivered;
:mod:`~hipbmd.node.receiver` is the storage SCP (pynetdicom); :mod:`~hipbmd.node.worker` estimates and
forwards; :mod:`~hipbmd.node.sender` is the storage SCU that delivers the SR and SC. Importing this
package imports neither pynetdicom nor torch.
"""
