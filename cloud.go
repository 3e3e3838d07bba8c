package powerbi

import "strings"

// Cloud describes one Power BI cloud: where its REST API lives, which Entra ID
// authority issues tokens for it, the OAuth scope of its API, and the host that
// serves embedded content. The API root and the scope must come from the same
// cloud: a mismatch fails with AADSTS500011 or a 401, so the presets set all
// fields together.
type Cloud struct {
	Name          string // short name, for messages
	APIBaseURL    string // REST API root, e.g. https://api.powerbi.com
	AuthorityHost string // Entra ID authority, e.g. https://login.microsoftonline.com
	Scope         string // OAuth scope of the Power BI API in this cloud
	AppHost       string // host of embed URLs, e.g. https://app.powerbi.com
}

// The Power BI clouds. The Germany cloud is retired and has no preset.
var (
	CloudPublic = Cloud{
		Name:          "Public",
		APIBaseURL:    "https://api.powerbi.com",
		AuthorityHost: "https://login.microsoftonline.com",
		Scope:         "https://analysis.windows.net/powerbi/api/.default",
		AppHost:       "https://app.powerbi.com",
	}
	CloudUSGovGCC = Cloud{
		Name:          "USGovGCC",
		APIBaseURL:    "https://api.powerbigov.us",
		AuthorityHost: "https://login.microsoftonline.com",
		Scope:         "https://analysis.usgovcloudapi.net/powerbi/api/.default",
		AppHost:       "https://app.powerbigov.us",
	}
	CloudUSGovHigh = Cloud{
		Name:          "USGovHigh",
		APIBaseURL:    "https://api.high.powerbigov.us",
		AuthorityHost: "https://login.microsoftonline.us",
		Scope:         "https://high.analysis.usgovcloudapi.net/powerbi/api/.default",
		AppHost:       "https://app.high.powerbigov.us",
	}
	CloudUSGovDoD = Cloud{
		Name:          "USGovDoD",
		APIBaseURL:    "https://api.mil.powerbigov.us",
		AuthorityHost: "https://login.microsoftonline.us",
		Scope:         "https://mil.analysis.usgovcloudapi.net/powerbi/api/.default",
		AppHost:       "https://app.mil.powerbigov.us",
	}
	CloudChina = Cloud{
		Name:          "China",
		APIBaseURL:    "https://api.powerbi.cn",
		AuthorityHost: "https://login.chinacloudapi.cn",
		Scope:         "https://analysis.chinacloudapi.cn/powerbi/api/.default",
		AppHost:       "https://app.powerbi.cn",
	}
)

// CloudByName returns the preset whose Name matches name, ignoring case
// ("Public", "USGovGCC", "USGovHigh", "USGovDoD", "China"). It is meant for
// configuration read from the environment.
func CloudByName(name string) (Cloud, bool) {
	for _, c := range []Cloud{CloudPublic, CloudUSGovGCC, CloudUSGovHigh, CloudUSGovDoD, CloudChina} {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Cloud{}, false
}
