package stacks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestNag_NoUnsuppressedErrors(t *testing.T) {
	for _, variant := range []string{"dev", "prod", "iam"} {
		t.Run(variant, func(t *testing.T) {
			// GIVEN the stack with the AwsSolutions rules applied
			s := synth(t, variant)

			// WHEN the errors of the rule pack are collected
			errors := s.annotations.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))

			// THEN there are none
			for _, e := range *errors {
				t.Errorf("%s: %v", *e.Id, e.Entry.Data)
			}
		})
	}
}

func TestNag_WarningsOnlyForDisabledWAF(t *testing.T) {
	for _, variant := range []string{"dev", "prod"} {
		t.Run(variant, func(t *testing.T) {
			// GIVEN the stack; dev turns WAF off, prod on
			s := synth(t, variant)

			// WHEN the warnings are collected
			warnings := s.annotations.FindWarning(jsii.String("*"), assertions.Match_AnyValue())

			// THEN the only one is the missing web ACL of dev
			for _, w := range *warnings {
				message := fmt.Sprint(w.Entry.Data)
				if variant == "dev" && strings.HasPrefix(message, "AwsSolutions-APIG3:") {
					continue
				}
				t.Errorf("%s: %s", *w.Id, message)
			}
		})
	}
}
