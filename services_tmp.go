package powerbi

// Client calls the Power BI REST API.
type Client struct {
	Reports    *ReportsService
	Dashboards *DashboardsService
	Tiles      *TilesService
	Datasets   *DatasetsService
	Groups     *GroupsService
	EmbedToken *EmbedTokenService

	core
}

func (c *Client) initServices() {
	c.Reports = (*ReportsService)(&c.common)
	c.Dashboards = (*DashboardsService)(&c.common)
	c.Tiles = (*TilesService)(&c.common)
	c.Datasets = (*DatasetsService)(&c.common)
	c.Groups = (*GroupsService)(&c.common)
	c.EmbedToken = (*EmbedTokenService)(&c.common)
}
