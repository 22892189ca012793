package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newWebACL puts an AWS WAF web ACL in front of the API stage. It blocks
// bodies larger than MaxRequestBytes, including bodies larger than the
// inspection limit (oversize handling MATCH), and applies the AWS common
// rule set.
func newWebACL(scope constructs.Construct, s *Settings, api awsapigateway.RestApi) awswafv2.CfnWebACL {
	acl := awswafv2.NewCfnWebACL(scope, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("REGIONAL"),
		Description:      jsii.String("mqcron API: request size bound and AWS common rules"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility("mqcron-api"),
		AssociationConfig: &awswafv2.CfnWebACL_AssociationConfigProperty{
			RequestBody: map[string]any{
				"API_GATEWAY": &awswafv2.CfnWebACL_RequestBodyAssociatedResourceTypeConfigProperty{
					DefaultSizeInspectionLimit: jsii.String(inspectionLimit(s.API.MaxRequestBytes)),
				},
			},
		},
		Rules: &[]any{bodySizeRule(s), commonRuleSet()},
	})
	awswafv2.NewCfnWebACLAssociation(scope, jsii.String("WebAclAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: api.DeploymentStage().StageArn(),
		WebAclArn:   acl.AttrArn(),
	})
	return acl
}

// inspectionLimit returns the smallest WAF body inspection limit for API
// Gateway that covers maxBytes (at most 64 KB, which Validate enforces).
func inspectionLimit(maxBytes int) string {
	for _, kb := range []int{16, 32, 48, 64} {
		if maxBytes <= kb*1024 {
			return fmt.Sprintf("KB_%d", kb)
		}
	}
	return "KB_64"
}

func bodySizeRule(s *Settings) *awswafv2.CfnWebACL_RuleProperty {
	return &awswafv2.CfnWebACL_RuleProperty{
		Name:     jsii.String("BodySizeLimit"),
		Priority: jsii.Number(0),
		Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]any{}},
		Statement: &awswafv2.CfnWebACL_StatementProperty{
			SizeConstraintStatement: &awswafv2.CfnWebACL_SizeConstraintStatementProperty{
				ComparisonOperator: jsii.String("GT"),
				Size:               jsii.Number(s.API.MaxRequestBytes),
				FieldToMatch: &awswafv2.CfnWebACL_FieldToMatchProperty{
					Body: &awswafv2.CfnWebACL_BodyProperty{OversizeHandling: jsii.String("MATCH")},
				},
				TextTransformations: &[]any{&awswafv2.CfnWebACL_TextTransformationProperty{
					Priority: jsii.Number(0),
					Type:     jsii.String("NONE"),
				}},
			},
		},
		VisibilityConfig: visibility("mqcron-body-size"),
	}
}

// commonRuleSet applies AWSManagedRulesCommonRuleSet, with its own 8 KB
// body rule only counted because bodySizeRule sets the bound.
func commonRuleSet() *awswafv2.CfnWebACL_RuleProperty {
	return &awswafv2.CfnWebACL_RuleProperty{
		Name:           jsii.String("AwsCommonRules"),
		Priority:       jsii.Number(1),
		OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
		Statement: &awswafv2.CfnWebACL_StatementProperty{
			ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
				VendorName: jsii.String("AWS"),
				Name:       jsii.String("AWSManagedRulesCommonRuleSet"),
				RuleActionOverrides: &[]any{&awswafv2.CfnWebACL_RuleActionOverrideProperty{
					Name:        jsii.String("SizeRestrictions_BODY"),
					ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]any{}},
				}},
			},
		},
		VisibilityConfig: visibility("mqcron-common-rules"),
	}
}

func visibility(metric string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
	return &awswafv2.CfnWebACL_VisibilityConfigProperty{
		CloudWatchMetricsEnabled: jsii.Bool(true),
		MetricName:               jsii.String(metric),
		SampledRequestsEnabled:   jsii.Bool(true),
	}
}
