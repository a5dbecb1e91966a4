"""pysmb's ``smb.strategy``: how UTF-16LE strings from the server are decoded."""


class DataStrategyBase:
    DATABYTES_CODEC = "UTF-16LE"


class DataFaultToleranceStrategy:
    """Decode, dropping undecodable code units."""

    @staticmethod
    def data_bytes_decode(databytes):
        return databytes.decode(DataStrategyBase.DATABYTES_CODEC, "ignore")


class DataStrategy:
    """Decode strictly (UnicodeDecodeError on bad data)."""

    @staticmethod
    def data_bytes_decode(databytes):
        return databytes.decode(DataStrategyBase.DATABYTES_CODEC)
