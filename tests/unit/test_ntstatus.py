"""smb.ntstatus: NTSTATUS names ([MS-ERREF] 2.3.1) and the SMB1 DOS error mapping
([MS-CIFS] 2.2.2.4)."""

from smb import ntstatus as nt
from smb.errors import OperationFailure


def test_values_from_ms_erref():
    assert nt.STATUS_SUCCESS == 0
    assert nt.STATUS_PENDING == 0x00000103
    assert nt.STATUS_BUFFER_OVERFLOW == 0x80000005
    assert nt.STATUS_NO_MORE_FILES == 0x80000006
    assert nt.STATUS_MORE_PROCESSING_REQUIRED == 0xC0000016
    assert nt.STATUS_END_OF_FILE == 0xC0000011
    assert nt.STATUS_INVALID_PARAMETER == 0xC000000D
    assert nt.STATUS_NO_SUCH_FILE == 0xC000000F
    assert nt.STATUS_ACCESS_DENIED == 0xC0000022
    assert nt.STATUS_OBJECT_NAME_NOT_FOUND == 0xC0000034
    assert nt.STATUS_OBJECT_NAME_COLLISION == 0xC0000035
    assert nt.STATUS_OBJECT_PATH_NOT_FOUND == 0xC000003A
    assert nt.STATUS_OBJECT_PATH_SYNTAX_BAD == 0xC000003B
    assert nt.STATUS_SHARING_VIOLATION == 0xC0000043
    assert nt.STATUS_DELETE_PENDING == 0xC0000056
    assert nt.STATUS_LOGON_FAILURE == 0xC000006D
    assert nt.STATUS_WRONG_PASSWORD == 0xC000006A
    assert nt.STATUS_NO_SUCH_USER == 0xC0000064
    assert nt.STATUS_ACCOUNT_DISABLED == 0xC0000072
    assert nt.STATUS_PASSWORD_EXPIRED == 0xC0000071
    assert nt.STATUS_BAD_NETWORK_NAME == 0xC00000CC
    assert nt.STATUS_FILE_IS_A_DIRECTORY == 0xC00000BA
    assert nt.STATUS_NOT_SUPPORTED == 0xC00000BB
    assert nt.STATUS_NETWORK_NAME_DELETED == 0xC00000C9
    assert nt.STATUS_DIRECTORY_NOT_EMPTY == 0xC0000101
    assert nt.STATUS_NOT_A_DIRECTORY == 0xC0000103
    assert nt.STATUS_CANCELLED == 0xC0000120
    assert nt.STATUS_CANNOT_DELETE == 0xC0000121
    assert nt.STATUS_FILE_CLOSED == 0xC0000128
    assert nt.STATUS_USER_SESSION_DELETED == 0xC0000203
    assert nt.STATUS_NOT_FOUND == 0xC0000225
    assert nt.STATUS_NETWORK_SESSION_EXPIRED == 0xC000035C
    assert nt.STATUS_INSUFFICIENT_RESOURCES == 0xC000009A
    assert nt.STATUS_BUFFER_TOO_SMALL == 0xC0000023
    assert nt.STATUS_INVALID_DEVICE_REQUEST == 0xC0000010
    assert nt.STATUS_INVALID_INFO_CLASS == 0xC0000003
    assert nt.STATUS_EAS_NOT_SUPPORTED == 0xC000004F
    assert nt.STATUS_INVALID_HANDLE == 0xC0000008


def test_status_name():
    assert nt.status_name(0xC0000034) == "STATUS_OBJECT_NAME_NOT_FOUND"
    assert nt.status_name(0) == "STATUS_SUCCESS"
    assert nt.status_name(0x80000005) == "STATUS_BUFFER_OVERFLOW"
    assert nt.status_name(0xC0DEC0DE) == "0xC0DEC0DE"
    assert nt.status_name(0x1) == "0x00000001"


def test_every_constant_has_its_own_name():
    for name, value in vars(nt).items():
        if name.startswith("STATUS_"):
            assert nt.status_name(value) == name


def test_severity():
    assert nt.is_error(nt.STATUS_ACCESS_DENIED)
    assert not nt.is_error(nt.STATUS_BUFFER_OVERFLOW)
    assert nt.is_warning(nt.STATUS_NO_MORE_FILES)
    assert not nt.is_warning(nt.STATUS_SUCCESS)


def test_dos_error_mapping():
    m = nt.dos_error_to_ntstatus
    assert m(nt.SUCCESS, 0) == nt.STATUS_SUCCESS
    assert m(nt.ERRDOS, nt.ERRbadfile) == nt.STATUS_NO_SUCH_FILE
    assert m(0x01, 0x0002) == 0xC000000F
    assert m(0x01, 0x0003) == nt.STATUS_OBJECT_PATH_NOT_FOUND
    assert m(0x01, 0x0005) == nt.STATUS_ACCESS_DENIED
    assert m(0x01, 0x0006) == nt.STATUS_INVALID_HANDLE
    assert m(0x01, 0x0050) == nt.STATUS_OBJECT_NAME_COLLISION
    assert m(0x01, 0x0020) == nt.STATUS_SHARING_VIOLATION
    assert m(0x01, 0x0012) == nt.STATUS_NO_MORE_FILES
    assert m(0x01, 0x00EA) == nt.STATUS_BUFFER_OVERFLOW
    assert m(0x01, 0x0010) == nt.STATUS_DIRECTORY_NOT_EMPTY
    assert m(0x02, 0x0002) == nt.STATUS_LOGON_FAILURE
    assert m(0x02, 0x0006) == nt.STATUS_BAD_NETWORK_NAME
    assert m(0x02, 0x0005) == nt.STATUS_SMB_BAD_TID == 0x00050002
    assert m(0x02, 0x005B) == nt.STATUS_SMB_BAD_UID == 0x005B0002
    assert m(nt.ERRSRV, nt.ERRrmuns) == nt.STATUS_TOO_MANY_SESSIONS
    assert m(0x03, 0x0013) == nt.STATUS_MEDIA_WRITE_PROTECTED
    assert m(0x03, 0x0027) == nt.STATUS_DISK_FULL


def test_unknown_dos_error_is_kept_in_synthetic_form():
    assert nt.dos_error_to_ntstatus(0x01, 0x1234) == 0x12340001
    assert nt.dos_error_to_ntstatus(0xFF, 0x0001) == 0x000100FF


def test_operation_failure_str_uses_status_name():
    e = OperationFailure("Failed to open a\\b", status=nt.STATUS_OBJECT_NAME_NOT_FOUND)
    assert "STATUS_OBJECT_NAME_NOT_FOUND" in str(e)
    assert "0xC0000034" in str(e)
