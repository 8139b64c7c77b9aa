"""Operators: upload a members file from the previous system, follow its import, get the rejected rows."""
from __future__ import annotations

from flask import Response, g, request, stream_with_context
from flask_openapi3 import APIBlueprint, Tag
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import Unprocessable, error_response
from app.imports import service
from app.imports.schemas import ImportRunOut, RejectedPage, RunPath, UploadForm
from app.members.schemas import ErrorOut
from app.operators.service import WRITERS, current_operator
from app.pagination import PageQuery

bp = APIBlueprint("imports_admin", __name__, url_prefix="/api/v1/admin/imports", abp_tags=[Tag(name="运营后台 数据导入")],
                  abp_security=[{"operator": []}],
                  abp_responses={"401": ErrorOut, "403": ErrorOut, "404": ErrorOut, "422": ErrorOut})

UPLOAD_FRAMING = 64 * 1024  # multipart boundaries and headers around the file


@bp.before_request
def _operator_before_upload():
    """An upload's operator is checked before its body is read; only then may the body be as large
    as the import cap (the API's usual request limit is far smaller)."""
    if request.method == "POST":
        g.import_operator = current_operator(*WRITERS)
        request.max_content_length = service.max_file_bytes() + UPLOAD_FRAMING


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    megabytes = service.max_file_bytes() // (1024 * 1024) or 1
    return error_response(413, "import_file_too_large", f"文件超过 {megabytes} MB,请拆分后上传,或用命令行导入")


@bp.post("/members", responses={202: ImportRunOut, 413: ErrorOut, 415: ErrorOut})
def import_members(form: UploadForm):
    """导入会员及期初余额(CSV,后台任务逐批写入;同一文件重复导入不会重复写入)"""
    upload = form.file
    if not isinstance(upload, FileStorage):
        raise Unprocessable("请以 multipart/form-data 上传文件字段 file", code="validation_error")
    data = upload.stream.read(service.max_file_bytes() + 1)
    run = service.start_member_import(upload.filename or "", data, g.import_operator.id)
    return ImportRunOut.of(run).model_dump(mode="json"), 202


@bp.get("/<run_id>", responses={200: ImportRunOut})
def get_run(path: RunPath, query: PageQuery):
    """导入进度与被拒绝的行(分页)"""
    current_operator(*WRITERS)
    run = service.run(path.run_id)
    items = service.rejected_rows(path.run_id, page=query.page, per_page=query.per_page)
    page = RejectedPage(items=items, total=run["rejected"], page=query.page, per_page=query.per_page)
    return ImportRunOut.of(run, page).model_dump(mode="json")


@bp.get("/<run_id>/rejected.csv", responses={200: None})
def rejected_report(path: RunPath):
    """下载被拒绝行的报告(CSV,Excel 可直接打开)"""
    current_operator(*WRITERS)
    service.run(path.run_id)
    return Response(stream_with_context(service.rejected_csv(path.run_id)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{path.run_id}-rejected.csv"'})
