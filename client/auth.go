package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Authorizer adds credentials to a request whose URL, headers and body
// are final.
type Authorizer interface {
	Authorize(ctx context.Context, req *http.Request, body []byte) error
}

// BearerToken sends a Cognito user pool token in the Authorization header
// as "Bearer TOKEN". A token that already starts with "Bearer " is sent
// unchanged.
type BearerToken string

// Authorize sets the Authorization header.
func (t BearerToken) Authorize(_ context.Context, req *http.Request, _ []byte) error {
	token := strings.TrimSpace(string(t))
	if token == "" {
		return errors.New("bearer token is empty")
	}
	if !strings.HasPrefix(token, "Bearer ") {
		token = "Bearer " + token
	}
	req.Header.Set("Authorization", token)
	return nil
}

// SigV4Service is the signing name of API Gateway's execute-api endpoints.
const SigV4Service = "execute-api"

// SigV4 signs requests with AWS Signature Version 4 for an API Gateway API
// that uses IAM auth.
type SigV4 struct {
	// Credentials supplies the keys, such as aws.Config.Credentials from
	// config.LoadDefaultConfig.
	Credentials aws.CredentialsProvider
	// Region is the API's region, such as eu-west-1.
	Region string
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time

	signer *v4.Signer
}

// NewSigV4 returns a SigV4 authorizer for credentials in region.
func NewSigV4(credentials aws.CredentialsProvider, region string) *SigV4 {
	return &SigV4{Credentials: credentials, Region: region, signer: v4.NewSigner()}
}

// Authorize signs req, which sets the Authorization, X-Amz-Date and, for
// temporary credentials, X-Amz-Security-Token headers.
func (s *SigV4) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	if s.Credentials == nil {
		return errors.New("sigv4: no credentials provider")
	}
	if s.Region == "" {
		return errors.New("sigv4: region is empty; set --region or AWS_REGION")
	}
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("sigv4: retrieve credentials: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	signer := s.signer
	if signer == nil {
		signer = v4.NewSigner()
	}
	sum := sha256.Sum256(body)
	if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigV4Service, s.Region, now()); err != nil {
		return fmt.Errorf("sigv4: sign: %w", err)
	}
	return nil
}

// RegionFromHost returns the region of an execute-api host such as
// abc123.execute-api.eu-west-1.amazonaws.com, or "" for any other host.
func RegionFromHost(host string) string {
	parts := strings.Split(strings.ToLower(host), ".")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "execute-api" && parts[i+2] == "amazonaws" {
			return parts[i+1]
		}
	}
	return ""
}
