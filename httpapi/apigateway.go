package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mqcron/mqcron/schedule"
)

// Owner sources for API Gateway requests.
const (
	OwnerFromCognito = "cognito"
	OwnerFromIAM     = "iam"
)

// ProxyOwner returns the owner of an API Gateway proxy request: the
// Cognito user pool subject ("sub" claim) or the caller's IAM ARN,
// depending on source.
func ProxyOwner(req *events.APIGatewayProxyRequest, source string) (string, error) {
	switch source {
	case OwnerFromCognito:
		claims, _ := req.RequestContext.Authorizer["claims"].(map[string]any)
		if sub, _ := claims["sub"].(string); sub != "" {
			return "cognito:" + sub, nil
		}
		return "", errors.New("the Cognito authorizer passed no sub claim")
	case OwnerFromIAM:
		if arn := req.RequestContext.Identity.UserArn; arn != "" {
			return "iam:" + arn, nil
		}
		return "", errors.New("the request carries no IAM caller ARN")
	}
	return "", fmt.Errorf("unknown owner source %q; use %q or %q", source, OwnerFromCognito, OwnerFromIAM)
}

// ServeAPIGateway runs one API Gateway proxy request through h. The owner
// comes from the authorizer as ownerSource selects; the development
// header is ignored.
func (h *Handler) ServeAPIGateway(ctx context.Context, req events.APIGatewayProxyRequest, ownerSource string) (events.APIGatewayProxyResponse, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			rec := httptest.NewRecorder()
			h.writeError(rec, &http.Request{Method: req.HTTPMethod, URL: &url.URL{Path: req.Path}},
				schedule.Invalid("", "the body is marked base64 but does not decode: %v", err))
			return proxyResponse(rec), nil
		}
		body = decoded
	}
	u := url.URL{Path: req.Path, RawQuery: proxyQuery(req).Encode()}
	r, err := http.NewRequestWithContext(ctx, req.HTTPMethod, u.String(), strings.NewReader(string(body)))
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range req.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for k, v := range req.Headers {
		if r.Header.Get(k) == "" {
			r.Header.Set(k, v)
		}
	}
	r.Header.Del(DevOwnerHeader)
	r.ContentLength = int64(len(body))
	if owner, err := ProxyOwner(&req, ownerSource); err == nil {
		r = r.WithContext(WithOwner(ctx, owner))
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return proxyResponse(rec), nil
}

func proxyResponse(rec *httptest.ResponseRecorder) events.APIGatewayProxyResponse {
	resp := events.APIGatewayProxyResponse{
		StatusCode:        rec.Code,
		MultiValueHeaders: map[string][]string{},
		Body:              rec.Body.String(),
	}
	for k, vs := range rec.Header() {
		resp.MultiValueHeaders[k] = vs
	}
	return resp
}

func proxyQuery(req events.APIGatewayProxyRequest) url.Values {
	q := url.Values{}
	for k, vs := range req.MultiValueQueryStringParameters {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	for k, v := range req.QueryStringParameters {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	return q
}
