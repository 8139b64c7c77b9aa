"""Why a whole file is refused (nothing is written): each maps to one HTTP status and a stable code."""
from app.errors import DomainError, NotFound


class FileRefused(DomainError):
    status, code, message = 422, "import_file_refused", "文件无法导入"


class NotCsv(FileRefused):
    status, code, message = 415, "import_not_csv", "请上传 CSV 文件(在 Excel 中“另存为 CSV”)"


class FileTooLarge(FileRefused):
    status, code, message = 413, "import_file_too_large", "文件过大"


class UnknownRun(NotFound):
    code, message = "unknown_import", "导入记录不存在或已过期"
