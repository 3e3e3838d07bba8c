module github.com/gopowerbi/powerbi

go 1.24.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/hashicorp/go-retryablehttp v0.7.8
	golang.org/x/oauth2 v0.35.0
)

require github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
