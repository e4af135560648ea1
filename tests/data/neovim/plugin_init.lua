-- The real-editor test of the plugin: Tandem's own `setup()` from editors/neovim.
vim.g.loaded_python3_provider = 0
vim.cmd('filetype plugin indent on')
vim.opt.runtimepath:prepend(vim.env.TANDEM_PLUGIN)
local opts = {
  python = vim.env.TANDEM_PYTHON,
  server_args = { '-v', '--log-file', vim.env.TANDEM_LOG },
  settings = vim.json.decode(vim.env.TANDEM_SETTINGS or '{}'),
}
if (vim.env.TANDEM_ADDRESS or '') ~= '' then
  opts.address = vim.env.TANDEM_ADDRESS
end
require('tandem').setup(opts)
