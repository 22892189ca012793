package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// API is the REST API in front of the scheduler function.
type API struct {
	RestAPI awsapigateway.RestApi
	// UserPool and UserPoolClient are set with AuthCognito; UserPoolClient
	// is nil when the settings name an existing pool.
	UserPool       awscognito.IUserPool
	UserPoolClient awscognito.UserPoolClient
	// OptionsMethods are the unauthenticated CORS preflight methods.
	OptionsMethods []awsapigateway.Method
}

// apiStage is the stage name, the first path segment of the API URL.
const apiStage = "v1"

func newAPI(scope constructs.Construct, s *Settings, scheduler awslambda.Function) *API {
	a := &API{}
	methodOptions := &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_IAM}
	if s.API.Auth == AuthCognito {
		a.UserPool, a.UserPoolClient = userPool(scope, s)
		authorizer := awsapigateway.NewCognitoUserPoolsAuthorizer(scope, jsii.String("Authorizer"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
			CognitoUserPools: &[]awscognito.IUserPool{a.UserPool},
		})
		methodOptions = &awsapigateway.MethodOptions{
			AuthorizationType: awsapigateway.AuthorizationType_COGNITO,
			Authorizer:        authorizer,
		}
	}
	a.RestAPI = awsapigateway.NewRestApi(scope, jsii.String("Api"), &awsapigateway.RestApiProps{
		Description:          jsii.String("mqcron scheduler API"),
		EndpointTypes:        &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		DeployOptions:        stageOptions(scope, s),
		CloudWatchRole:       jsii.Bool(true),
		DefaultMethodOptions: methodOptions,
	})
	a.OptionsMethods = addRoutes(a.RestAPI, s, scheduler)
	if s.API.WAF {
		newWebACL(scope, s, a.RestAPI)
	}
	return a
}

// stageOptions turns on throttling, access logs (JSON, one line per request)
// and execution logs of errors. Request and response bodies are not logged.
func stageOptions(scope constructs.Construct, s *Settings) *awsapigateway.StageOptions {
	accessLogs := awslogs.NewLogGroup(scope, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention(s),
		RemovalPolicy: removalPolicy(s),
	})
	return &awsapigateway.StageOptions{
		StageName:            jsii.String(apiStage),
		ThrottlingRateLimit:  jsii.Number(s.API.ThrottleRate),
		ThrottlingBurstLimit: jsii.Number(s.API.ThrottleBurst),
		AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
		AccessLogFormat: awsapigateway.AccessLogFormat_JsonWithStandardFields(&awsapigateway.JsonWithStandardFieldProps{
			Caller: jsii.Bool(true), HttpMethod: jsii.Bool(true), Ip: jsii.Bool(true),
			Protocol: jsii.Bool(true), RequestTime: jsii.Bool(true), ResourcePath: jsii.Bool(true),
			ResponseLength: jsii.Bool(true), Status: jsii.Bool(true), User: jsii.Bool(true),
		}),
		LoggingLevel:     awsapigateway.MethodLoggingLevel_ERROR,
		DataTraceEnabled: jsii.Bool(false),
		MetricsEnabled:   jsii.Bool(true),
	}
}

// addRoutes sends /schedules and everything below it to the scheduler
// through a proxy integration; the scheduler routes by method and path. It
// returns the CORS preflight methods, if any.
func addRoutes(api awsapigateway.RestApi, s *Settings, scheduler awslambda.Function) []awsapigateway.Method {
	integration := awsapigateway.NewLambdaIntegration(scheduler, &awsapigateway.LambdaIntegrationOptions{Proxy: jsii.Bool(true)})
	validator := api.AddRequestValidator(jsii.String("Validator"), &awsapigateway.RequestValidatorOptions{
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})
	var cors *awsapigateway.CorsOptions
	if len(s.API.CORSOrigins) > 0 {
		cors = &awsapigateway.CorsOptions{
			AllowOrigins: jsii.Strings(s.API.CORSOrigins...),
			AllowMethods: jsii.Strings("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
			AllowHeaders: jsii.Strings("Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token"),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	var options []awsapigateway.Method
	schedules := api.Root().AddResource(jsii.String("schedules"), &awsapigateway.ResourceOptions{DefaultCorsPreflightOptions: cors})
	below := schedules.AddResource(jsii.String("{proxy+}"), &awsapigateway.ResourceOptions{DefaultCorsPreflightOptions: cors})
	for _, resource := range []awsapigateway.Resource{schedules, below} {
		resource.AddMethod(jsii.String("ANY"), integration, &awsapigateway.MethodOptions{RequestValidator: validator})
		if cors != nil {
			options = append(options, resource.Node().FindChild(jsii.String("OPTIONS")).(awsapigateway.Method))
		}
	}
	return options
}

// userPool returns the Cognito user pool named by the settings, or a new
// pool with an app client. A new pool has no self sign-up: administrators
// create users.
func userPool(scope constructs.Construct, s *Settings) (awscognito.IUserPool, awscognito.UserPoolClient) {
	if s.API.UserPoolArn != "" {
		return awscognito.UserPool_FromUserPoolArn(scope, jsii.String("UserPool"), jsii.String(s.API.UserPoolArn)), nil
	}
	pool := awscognito.NewUserPool(scope, jsii.String("UserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		Mfa:               awscognito.Mfa_REQUIRED,
		MfaSecondFactor:   &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:        jsii.Number(12),
			RequireDigits:    jsii.Bool(true),
			RequireLowercase: jsii.Bool(true),
			RequireUppercase: jsii.Bool(true),
			RequireSymbols:   jsii.Bool(true),
		},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		DeletionProtection: jsii.Bool(s.DeletionProtection),
		RemovalPolicy:      removalPolicy(s),
	})
	client := pool.AddClient(jsii.String("ApiClient"), &awscognito.UserPoolClientOptions{
		AuthFlows:      &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		GenerateSecret: jsii.Bool(false),
	})
	return pool, client
}
