"""`gradc explain SOURCE --shape ... [--latex]`: print the simplified derivative of each input as a formula."""
from gradc.cli.arguments import add_source_arguments, compile_from
from gradc.explain import explain


def add_explain_parser(commands):
    parser = commands.add_parser("explain", help="print the simplified derivative of each input as a formula")
    add_source_arguments(parser)
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    parser.set_defaults(run=run_explain)


def run_explain(args):
    print(explain(compile_from(args), latex=args.latex))
    return 0
