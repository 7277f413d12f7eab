/*
 * reply.c — response helpers: Prometheus's JSON envelope and error shape, plain-text and empty
 * replies. Each helper sets r->status, r->content_type and r->out; a handler calls exactly one
 * (the first reply wins; later calls are ignored so an error path cannot clobber a reply).
 *
 * Shapes (web/api/v1 of Prometheus):
 *   success: {"status":"success","data":<data>[,"warnings":["..."]]}
 *   error:   {"status":"error","errorType":"bad_data","error":"<message>"}
 */
#include "api/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int api__err_status(api_err_type t)
{
	switch (t) {
	case API_ERR_BAD_DATA: return 400;
	case API_ERR_EXECUTION: return 422;
	case API_ERR_CANCELED: return 503;
	case API_ERR_TIMEOUT: return 503;
	case API_ERR_INTERNAL: return 500;
	case API_ERR_NOT_FOUND: return 404;
	case API_ERR_UNAVAILABLE: return 503;
	}
	return 500;
}

const char *api__err_name(api_err_type t)
{
	switch (t) {
	case API_ERR_BAD_DATA: return "bad_data";
	case API_ERR_EXECUTION: return "execution";
	case API_ERR_CANCELED: return "canceled";
	case API_ERR_TIMEOUT: return "timeout";
	case API_ERR_INTERNAL: return "internal";
	case API_ERR_NOT_FOUND: return "not_found";
	case API_ERR_UNAVAILABLE: return "unavailable";
	}
	return "internal";
}

api_json *api__reply_json_begin(api_req *r, api_json *j)
{
	buf_reset(&r->out);
	api_json_init(j, &r->out);
	api_json_obj_begin(j);
	api_json_key(j, "status");
	api_json_str(j, "success");
	api_json_key(j, "data");
	return j;
}

void api__reply_json_end(api_req *r, api_json *j, const char *const *warnings, size_t nwarn)
{
	if (r->replied)
		return;
	if (nwarn) {
		api_json_key(j, "warnings");
		api_json_arr_begin(j);
		for (size_t i = 0; i < nwarn; i++)
			api_json_str(j, warnings[i]);
		api_json_arr_end(j);
	}
	api_json_obj_end(j);
	if (api_json_failed(j)) {
		buf_reset(&r->out);
		api__reply_error(r, API_ERR_INTERNAL, "response too large or out of memory");
		return;
	}
	r->status = 200;
	r->content_type = "application/json";
	r->replied = true;
}

void api__reply_error(api_req *r, api_err_type type, const char *fmt, ...)
{
	if (r->replied)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_reset(&r->out);
	api_json j;
	api_json_init(&j, &r->out);
	api_json_obj_begin(&j);
	api_json_key(&j, "status");
	api_json_str(&j, "error");
	api_json_key(&j, "errorType");
	api_json_str(&j, api__err_name(type));
	api_json_key(&j, "error");
	api_json_str(&j, msg);
	api_json_obj_end(&j);
	r->status = api__err_status(type);
	r->content_type = "application/json";
	r->replied = true;
}

void api__reply_text(api_req *r, int status, const char *fmt, ...)
{
	if (r->replied)
		return;
	buf_reset(&r->out);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&r->out, fmt, ap);
	va_end(ap);
	buf_putc(&r->out, '\n');
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	r->replied = true;
}

void api__reply_raw(api_req *r, int status, const char *content_type, const char *body, size_t n)
{
	if (r->replied)
		return;
	buf_reset(&r->out);
	if (buf_append(&r->out, body, n) != 0) {
		api__reply_text(r, 500, "out of memory");
		return;
	}
	r->status = status;
	r->content_type = content_type;
	r->replied = true;
}

void api__reply_empty(api_req *r, int status)
{
	if (r->replied)
		return;
	buf_reset(&r->out);
	r->status = status;
	r->content_type = NULL;
	r->replied = true;
}

void api__reply_header(api_req *r, const char *name, const char *value)
{
	if (r->n_hdr >= API_MAX_REPLY_HEADERS)
		return;
	r->hdr_name[r->n_hdr] = name;
	snprintf(r->hdr_value[r->n_hdr], sizeof r->hdr_value[r->n_hdr], "%s", value);
	r->n_hdr++;
}
