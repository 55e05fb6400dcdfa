"""`gradc explain SOURCE --shape ... [--latex]`: print the simplified derivative of each input as a formula."""
from gradc.cli.arguments import add_source_arguments, compile_from
from gradc.explain import explain, separability


EXAMPLES = """examples:
  gradc explain '0.5*sum((X@w - y)**2)' --wrt w --shape X=n,d --shape y=n --shape w=d
  gradc explain 'mean(log(1 + exp(-y * (X @ w))))' --shape X=n,d --shape w=d --shape y=n --wrt w --latex
  gradc explain model.py:loss --wrt w,b --shape X=n,d --shape w=d --shape y=n
"""


def add_explain_parser(commands):
    parser = commands.add_parser("explain", help="print the simplified derivative of each input as a formula",
                                 description="Print the derivative of SOURCE with respect to each input in --wrt "
                                             "as a formula, read from the simplified graph (d/dw = X.T @ (X @ w - y)).",
                                 epilog=EXAMPLES)
    add_source_arguments(parser)
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    parser.set_defaults(run=run_explain)


def run_explain(args):
    fn = compile_from(args)
    print(explain(fn, latex=args.latex))
    said = separability(fn)
    if said and not args.latex:  # LaTeX output stays a formula to paste
        print(said)
    return 0
