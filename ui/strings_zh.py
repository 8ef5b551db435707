"""Chinese text for every English string a page passes to ``t()``.

Terminology follows the Chinese edition of *Dive into Deep Learning* (动手学深度学习): 批量归一化,
残差网络, 稠密连接网络, 稠密块, 过渡层, 局部最小值, 鞍点, 梯度消失, 凸优化, 梯度下降,
随机梯度下降, 学习率, 牛顿法. Placeholders such as ``{n}`` and format specs such as ``{x:.4f}``
stay exactly as in the English text; ``tests/test_i18n.py`` checks that.
"""

ZH: dict[str, str] = {
    # ---- why a run on a quadratic converges or diverges (ui/why.py) ------------------------------
    "**Why:** the Hessian of this quadratic is constant, with eigenvalues λ = {lams} "
    "along {dirs} (condition number κ = {kappa}). Gradient descent diverges for "
    "η > {crit} ($2/\\lambda_{{\\max}}$); the fastest constant learning rate is η* = {best} "
    "($2/(\\lambda_{{\\min}}+\\lambda_{{\\max}})$), where each step multiplies the error by "
    "{rate} at most.":
        "**为什么：** 这个二次函数的黑塞矩阵是常数，特征值 λ = {lams}，方向依次为 {dirs}"
        "（条件数 κ = {kappa}）。学习率 η > {crit}（$2/\\lambda_{{\\max}}$）时梯度下降发散；"
        "最快的常数学习率是 η* = {best}（$2/(\\lambda_{{\\min}}+\\lambda_{{\\max}})$），"
        "此时每一步至多把误差乘以 {rate}。",
    "{name}: its step adapts to the gradients seen so far, so no fixed rate per direction "
    "describes it.":
        "{name}：它的步长随已见过的梯度而变，没有沿各方向固定的收敛速率可言。",
    "{name} at η = {eta}: the noise makes each step random. On average the error shrinks as "
    "gradient descent's does, each step multiplying it {parts}; near the minimum the noise keeps "
    "the iterate moving, the more the larger η (a decaying η lets it settle).":
        "{name}，η = {eta}：噪声让每一步都带有随机性。平均而言，误差像梯度下降那样缩小，每一步"
        "{parts}；在最小值附近，噪声让迭代点不停移动，η 越大移动得越厉害（衰减的 η 能让它停下来）。",
    "{name} at η = {eta}: the noise makes each step random. On average the error follows "
    "gradient descent's factors, {parts}, and one above 1 in size makes it grow: the run "
    "diverges.":
        "{name}，η = {eta}：噪声让每一步都带有随机性。平均而言，误差按梯度下降的乘数变化（{parts}），"
        "而绝对值大于 1 的乘数会让误差增大：这次运行会发散。",
    "{f} along {d}": "沿 {d} 方向为 {f}",
    "by {f} along {d}": "沿 {d} 方向乘以 {f}",
    "A negative factor flips the error's sign every step: along {dirs} the iterate jumps from "
    "one side of the minimum to the other.":
        "倍数为负，误差每一步都变号：沿 {dirs} 方向，迭代点从最小值的一侧跳到另一侧。",
    "{name} at η = {eta}, γ = {gamma}: the error and the velocity along each "
    "eigendirection follow a 2×2 linear map, whose spectral radius is the factor per "
    "step: {parts}.":
        "{name}（η = {eta}，γ = {gamma}）：沿每个特征方向，误差和速度按一个 2×2 线性映射演化，"
        "它的谱半径就是每步的缩放倍数：{parts}。",
    "{name} at η = {eta}: each step multiplies the error {parts}.":
        "{name}（η = {eta}）：每一步把误差{parts}。",
    "Above 1 in size along {dirs}: the error grows there, and the run diverges.":
        "沿 {dirs} 方向倍数的绝对值大于 1：误差在那里不断增大，运行发散。",
    "Exactly 1 in size along {dirs}: the error there never shrinks.":
        "沿 {dirs} 方向倍数的绝对值恰好为 1：那里的误差永远不会缩小。",
    "It converges; the slowest direction sets the pace, {rate} per step.":
        "它收敛；最慢的方向决定快慢，每步乘以 {rate}。",
    "It diverges for η > {crit} ({formula}).": "学习率 η > {crit}（{formula}）时它发散。",
    "It diverges for η > {crit}.": "学习率 η > {crit} 时它发散。",
    "The best pair is η = {eta} ($(2/(\\sqrt{{\\lambda_{{\\max}}}}+\\sqrt{{\\lambda_"
    "{{\\min}}}}))^2$), γ = {gamma} ($((\\sqrt{{\\kappa}}-1)/(\\sqrt{{\\kappa}}+1))^2$), "
    "with rate {rate} per step.":
        "最优的一对参数是 η = {eta}（$(2/(\\sqrt{{\\lambda_{{\\max}}}}+\\sqrt{{\\lambda_"
        "{{\\min}}}}))^2$）、γ = {gamma}（$((\\sqrt{{\\kappa}}-1)/(\\sqrt{{\\kappa}}+1))^2$），"
        "此时误差每步缩小为原来的 {rate} 倍。",
    "|error| (log scale)": "|误差|（对数坐标）",
    "along {d} (λ = {lam})": "沿 {d} 方向（λ = {lam}）",
    "predicted rate": "预测的速率",
    "Error along each eigendirection": "沿各特征方向的误差",
    "Solid: the distance to the minimum along each eigendirection, "
    "$|q_i^\\top(x_t - x^*)|$. Dashed: what the factor per step predicts. For "
    "gradient descent they coincide; for momentum the dashed line is the slope "
    "the error settles to.":
        "实线：沿每个特征方向到最小值的距离 $|q_i^\\top(x_t - x^*)|$。虚线：由每步缩放倍数预测的"
        "误差。梯度下降的两条线重合；动量法的虚线是误差最终下降的斜率。",
    "Your schedule changes η at every step: the factors above are for η = {eta}, "
    "the dashed lines follow η_t.":
        "学习率调度每一步都会改变 η：上面的倍数对应 η = {eta}，虚线则按每一步的 η_t 计算。",
    # ---- router (app.py) and home --------------------------------------------------------------
    "Home": "首页",
    "Optimization": "优化",
    "Training": "训练",
    "Optimization challenges": "优化中的挑战",
    "Convexity": "凸性",
    "Explorer": "探索器",
    "Back to the book's settings": "恢复书中的设置",
    "This page as it opens: every setting at its default": "回到本页打开时的样子：所有设置恢复默认值",
    "Compare optimizers": "比较优化方法",
    "Batch normalization": "批量归一化",
    "ResNet": "残差网络",
    "DenseNet": "稠密连接网络",
    "Runs": "训练记录",
    "D2L Lab: optimization and modern CNNs, hands on": "D2L 实验室：动手玩转优化与现代卷积神经网络",
    "Two chapters of *Dive into Deep Learning* as pages you can play with: the optimization chapter "
    "(local minima, saddle points, vanishing gradients, convexity, gradient descent, Newton's "
    "method, SGD, learning-rate schedules) and the modern-CNN chapter (batch normalization, "
    "ResNet, DenseNet), trained live on Fashion-MNIST.":
        "把《动手学深度学习》的两章做成可以动手操作的页面：优化一章（局部最小值、鞍点、梯度消失、"
        "凸性、梯度下降、牛顿法、随机梯度下降、学习率调度）和现代卷积神经网络一章（批量归一化、"
        "残差网络、稠密连接网络），并在 Fashion-MNIST 上实时训练。",
    "Local vs global minima, saddle points and vanishing gradients: drop a start point and watch "
    "gradient descent stall or escape.":
        "局部最小值与全局最小值、鞍点和梯度消失：选一个起点，看梯度下降是停滞不前还是成功逃离。",
    "Second derivatives, the secant (Jensen) test, and why local minima of convex functions are "
    "global.":
        "二阶导数、割线（詹森不等式）检验，以及为什么凸函数的局部最小值就是全局最小值。",
    "Any function, method and learning-rate schedule; contour, surface, loss and learning-rate "
    "plots; the table of iterates; CSV/JSON/PNG/SVG export.":
        "任选目标函数、优化方法和学习率调度；等高线图、曲面图、目标函数值和学习率曲线；"
        "迭代过程表格；可导出 CSV/JSON/PNG/SVG。",
    "Several optimizers on one landscape, side by side, with playback step by step and how many "
    "steps each needs to reach the minimum.":
        "在同一个函数上并排比较多个优化方法，可逐步回放，并给出各自到达最小值所需的步数。",
    "Batch normalization, ResNet-18 and DenseNet trained on Fashion-MNIST (or the offline digits "
    "dataset) on CPU or GPU, with a live accuracy chart.":
        "在 Fashion-MNIST（或离线的 digits 手写数字数据集）上用 CPU 或 GPU 训练批量归一化模型、"
        "ResNet-18 和 DenseNet，并实时绘制准确率曲线。",
    "Every finished run is kept: overlay the curves of any runs, download their weights, delete "
    "the ones you do not need.":
        "每次训练完成后都会保存：可以叠加任意几次训练的曲线、下载权重、删除不再需要的记录。",
    "Every page opens at the book's own settings, so the first view is the book's figure. Every "
    "setting is kept in the link: copy the URL to share exactly what you see. A page keeps its "
    "settings while you visit the others.":
        "每个页面打开时都采用书中的设置，因此第一眼看到的就是书中的图。所有设置都保存在链接里："
        "复制网址即可把你看到的画面原样分享给别人。去别的页面看看再回来，页面的设置仍然保留。",

    # ---- optimization challenges -----------------------------------------------------------
    "Optimization minimizes the training loss; deep learning cares about the test loss. Even the "
    "first goal is hard: gradient descent can stop in a **local minimum**, stall at a **saddle "
    "point**, or crawl where the **gradient vanishes**. Drop a start point (slider, or click the "
    "curve) and watch gradient descent stall or escape.":
        "优化方法最小化的是训练集上的损失，而深度学习关心的是测试集上的损失（泛化）。即便是前一个"
        "目标也不容易达到：梯度下降可能停在**局部最小值**，在**鞍点**处停滞，或在**梯度消失**的"
        "地方缓慢爬行。选一个起点（拖动滑块，或点击曲线），看梯度下降是停滞不前还是成功逃离。",
    "Local minimum": "局部最小值",
    "Saddle point (1D)": "鞍点（一维）",
    "Saddle surface (2D)": "鞍面（二维）",
    "Vanishing gradient": "梯度消失",
    "Optimization vs estimation": "优化与估计",
    "Training minimizes the empirical risk g, the average loss on the training set; what we want "
    "small is the risk f, the expected loss on new data. A finite training set adds wiggles to g "
    "(here a·cos(5πx) on f = x·cos(πx), as in the book), so the point that minimizes g need not "
    "minimize f.":
        "训练最小化的是经验风险 g，即训练集上的平均损失；而我们真正想让它小的是风险 f，即在新数据上"
        "的期望损失。有限的训练集会给 g 加上起伏（这里和书中一样，在 f = x·cos(πx) 上加 a·cos(5πx)），"
        "所以使 g 最小的点未必使 f 最小。",
    "Wiggle a": "起伏幅度 a",
    "How far the training loss strays from the risk; 0 makes them equal.":
        "训练损失偏离风险的程度；设为 0 时两者相同。",
    "gradient descent on g": "在 g 上的梯度下降",
    "Gradient descent on g ends at x = {x:.4f}: training loss g = {g:.4f}, risk f = {f:.4f}.":
        "在 g 上的梯度下降最后位于 x = {x:.4f}：训练损失 g = {g:.4f}，风险 f = {f:.4f}。",
    "The risk is least at x = {xf:.4f} (f = {fmin:.4f}); even g's own minimum, x = {xg:.4f}, "
    "leaves the risk {excess:.4f} above that.":
        "风险在 x = {xf:.4f} 处最小（f = {fmin:.4f}）；即使到达 g 自己的最小点 x = {xg:.4f}，"
        "风险仍比这个最小值高 {excess:.4f}。",
    "This run has not settled: |g′(x)| = {g:.2g} after its last step, so it is still on its way "
    "or bouncing across a valley of g.":
        "这次运行还没有稳定下来：最后一步之后 |g′(x)| = {g:.2g}，它仍在途中，或在 g 的某个谷的两侧"
        "来回跳动。",
    "The wiggles make g's valleys steep: at g's minimum gradient descent settles only for "
    "η < 2/g″ = {crit:.3g}, and η = {eta:g} is past that.":
        "起伏让 g 的谷变得陡峭：在 g 的最小点处，只有 η < 2/g″ = {crit:.3g} 时梯度下降才能稳定下来，"
        "而 η = {eta:g} 已超过这个值。",
    "Gradient descent on g left the figure's interval [{lo:g}, {hi:g}] and ended at x = {x:.4g}: "
    "with η = {eta:g} its steps overshoot g's valleys. Try a smaller η.":
        "在 g 上的梯度下降离开了图中的区间 [{lo:g}, {hi:g}]，最后位于 x = {x:.4g}：η = {eta:g} 时"
        "它的步子越过了 g 的谷。请试试更小的 η。",
    "With a = 0 the training loss is the risk: both are least at x = {xf:.4f} (f = {fmin:.4f}).":
        "a = 0 时训练损失就是风险：两者都在 x = {xf:.4f} 处最小（f = {fmin:.4f}）。",
    "risk f(x)": "风险 f(x)",
    "empirical risk g(x)": "经验风险 g(x)",
    "min of risk": "风险的最小值",
    "min of empirical risk": "经验风险的最小值",
    "risk": "风险",
    "f(x, y) = x² − y² curves up along x and down along y: the origin is a minimum in one "
    "direction and a maximum in the other. Start gradient descent slightly off the x axis and it "
    "first slides toward the saddle, then escapes along y.":
        "f(x, y) = x² − y² 沿 x 方向向上弯曲，沿 y 方向向下弯曲：原点在一个方向上是最小值，在另一个"
        "方向上是最大值。让梯度下降从略微偏离 x 轴的地方出发，它会先滑向鞍点，然后沿 y 方向逃离。",
    "Start y₀ (x₀ = 1)": "起点 y₀（x₀ = 1）",
    "Learning rate η": "学习率 η",
    "Steps": "步数",
    "After {n} steps: x = ({x}, {y}), f = {f}":
        "{n} 步之后：x = ({x}, {y})，f = {f}",
    "Local vs global minimum: f(x) = x·cos(πx)": "局部最小值与全局最小值：f(x) = x·cos(πx)",
    "From the left of x ≈ 0.3 gradient descent settles in the local minimum near −0.3; start right "
    "of it and it finds the global one near 1.1.":
        "从 x ≈ 0.3 左侧出发，梯度下降会停在 −0.3 附近的局部最小值；从它右侧出发，则会找到 1.1 附近的"
        "全局最小值。",
    "Saddle point: f(x) = x³": "鞍点：f(x) = x³",
    "Gradient and second derivative are both zero at 0: from the right, descent slows to a crawl "
    "at the saddle; from the left it runs away.":
        "在 0 处梯度和二阶导数都为零：从右侧出发，下降在鞍点处慢得几乎停住；从左侧出发，它会一路跑远。",
    "Vanishing gradient: f(x) = tanh(x)": "梯度消失：f(x) = tanh(x)",
    "At x = 4 the gradient is 1 − tanh²(4) ≈ 0.0013: twenty steps barely move.":
        "在 x = 4 处梯度为 1 − tanh²(4) ≈ 0.0013：走二十步也几乎纹丝不动。",
    "Start x₀": "起点 x₀",
    "After {n} steps: x = {x}, f(x) = {f}, |f′(x)| = {g:.2e}":
        "{n} 步之后：x = {x}，f(x) = {f}，|f′(x)| = {g:.2e}",
    "Saddle surface: f(x, y) = x² − y²": "鞍面：f(x, y) = x² − y²",
    "gradient descent": "梯度下降",
    "local minimum": "局部最小值",
    "global minimum": "全局最小值",
    "saddle point": "鞍点",
    "vanishing gradient": "梯度消失",

    # ---- convexity -------------------------------------------------------------------------
    "A function is convex when every chord lies above its graph: f(λa + (1−λ)b) ≤ λf(a) + "
    "(1−λ)f(b). For a twice-differentiable function this holds exactly when f″(x) ≥ 0 everywhere. "
    "On a convex function every local minimum is a global one, so gradient descent cannot get "
    "stuck in a worse valley.":
        "如果函数图像上任意两点间的弦都位于图像上方，即 f(λa + (1−λ)b) ≤ λf(a) + (1−λ)f(b)，"
        "那么这个函数就是凸函数。对二阶可导的函数，这恰好等价于处处有 f″(x) ≥ 0。凸函数没有"
        "非全局的局部最小值：每个局部最小值都是全局最小值，所以梯度下降不会困在更差的山谷里。",
    "Function": "目标函数",
    "Second derivative": "二阶导数",
    "Secant (Jensen) test": "割线（詹森不等式）检验",
    "Local minima of convex functions are global": "凸函数的局部最小值即全局最小值",
    "Gradient descent from nine start points spread over the interval. On a convex function all "
    "runs end at the same minimum; on a non-convex one they can end in different valleys.":
        "从区间内均匀分布的九个起点分别运行梯度下降。在凸函数上，所有运行都停在同一个最小值；"
        "在非凸函数上，它们可能停在不同的山谷里。",
    "{k} distinct end point(s) after 200 steps.": "200 步后共有 {k} 个不同的终点。",
    "converged": "已收敛",
    "not converged yet": "尚未收敛",
    "Only the {n} of {total} runs that converged (|f′(x)| ≤ {tol:g}) count: x ≈ {xs}.":
        "只统计 {total} 次运行中已收敛（|f′(x)| ≤ {tol:g}）的 {n} 次：x ≈ {xs}。",
    "None of the {total} runs converged (|f′(x)| ≤ {tol:g}), so there is no end point to compare.":
        "{total} 次运行都没有收敛（|f′(x)| ≤ {tol:g}），所以没有可比较的终点。",
    "As convexity promises, every run that converged ended at the same minimum.":
        "正如凸性所保证的：每一次收敛的运行都停在同一个最小值。",
    "Different runs converged to different points: on a non-convex function a local minimum need "
    "not be the global one.":
        "不同的运行收敛到了不同的点：在非凸函数上，局部最小值不一定是全局最小值。",
    "{m} run(s) have not converged yet after {steps} steps (|f′(x)| is still above {tol:g}: "
    "crawling toward a minimum, or bouncing across one), so they are not counted as end points.":
        "{m} 次运行在 {steps} 步后尚未收敛（|f′(x)| 仍大于 {tol:g}：正缓慢爬向最小值，或在其两侧来回"
        "跳动），因此不计为终点。",
    "{m} run(s) have not converged yet after {steps} steps (|f′(x)| is still above {tol:g}), so "
    "they are not counted as end points. Where they are heading:":
        "{m} 次运行在 {steps} 步后尚未收敛（|f′(x)| 仍大于 {tol:g}），因此不计为终点。它们的去向：",
    "toward a minimum (crawling, or bouncing across it)":
        "朝向一个最小值（缓慢爬行，或在其两侧来回跳动）",
    "out past the end x = {edge:g}, where f keeps falling: no minimum lies that way on [{lo:g}, "
    "{hi:g}] (one, if f has any, lies past x = {edge:g})":
        "越过端点 x = {edge:g} 向外，f 在那里还在继续下降：[{lo:g}, {hi:g}] 上那个方向没有最小值"
        "（如果 f 有最小值，也在 x = {edge:g} 之外）",
    "toward x ≈ {at}, where f or its slope stops being a finite number: no point with f′ = 0 lies "
    "that way":
        "朝向 x ≈ {at}，在那里 f 或其斜率不再是有限数：那个方向上没有 f′ = 0 的点",
    "toward x ≈ {at}, where the slope falls to about 0 without turning (a saddle, as x³ has at 0, "
    "or a flat stretch): it may crawl there for good":
        "朝向 x ≈ {at}，在那里斜率降到约为 0 但不改变符号（鞍点，如 x³ 在 0 处，或一段平坦区域）："
        "运行可能一直在那里缓慢爬行",
    "The runs ended at different minima, all equally low (f ≈ {v:.4g}): f rises between them, so "
    "each is a minimum of its own valley, and none is lower than the others.":
        "各次运行停在不同的最小值处，它们一样低（f ≈ {v:.4g}）：f 在它们之间会升高，所以每个都是各自山谷"
        "的最小值，没有哪个比其他的更低。",
    "{d} run(s) diverged: they ran away (off the plot) and stopped, so they have no end point. A "
    "function unbounded below has no minimum to find that way; elsewhere, try a smaller η.":
        "{d} 次运行发散：它们跑出了绘图区域并停止，因此没有终点。函数在那个方向上无下界时没有最小值"
        "可找；否则请尝试更小的 η。",
    "{d} run(s) started or landed where f or its slope is not a finite number (outside f's "
    "domain, or on a pole) and stopped there.":
        "{d} 次运行的起点或某一步落在 f 或其导数不是有限数的地方（在 f 的定义域之外，或在极点上），"
        "并在那里停止。",
    "f undefined at the start": "f 在起点无定义",
    "f is convex here, yet the runs stopped at different points: f is flat between them (every "
    "point of a flat bottom is a global minimum), or its slope fell below {tol:g} on a flat "
    "stretch that has no minimum.":
        "f 在这里是凸的，但各次运行停在了不同的点：要么 f 在它们之间是平的（平底上的每一点都是全局最小值），"
        "要么它的斜率在一段没有最小值的平缓区域上降到了 {tol:g} 以下。",
    "f undefined at step {k}": "f 在第 {k} 步无定义",
    "f or f″ is not a finite number on {p:.0f}% of the interval (a gap in the curves): only where "
    "both are defined can f be convex.":
        "在区间的 {p:.0f}% 上 f 或 f″ 不是有限数（曲线中的空缺）：只有在两者都有定义的地方 f 才可能是凸的。",
    "f is not a finite number at {where}: move a and b to where f is defined.":
        "f 在 {where} 处不是有限数：请把 a 和 b 移到 f 有定义的地方。",
    "step t": "步数 t",
    "f(x_t)": "目标函数值 f(x_t)",
    "f(x_t) − f(x*)": "与最优值之差 f(x_t) − f(x*)",
    "ran away: off the plot after step {k} of {n}": "跑出图外：第 {k} 步后离开绘图区域（共 {n} 步）",
    "ran away: off the plot after step {k}, diverged at step {n}":
        "跑出图外：第 {k} 步后离开绘图区域，在第 {n} 步发散",
    "click: start here": "点击：从这里出发",
    "{m} paths ran away: off the plot at the arrows (hover an arrow for its step)":
        "{m} 条路径跑出图外：在箭头处离开绘图区域（把鼠标移到箭头上可看到步数）",
    "Set {name} to the book's value {value} (≈ {approx:.4g})":
        "将 {name} 设为书中的取值 {value}（≈ {approx:.4g}）",
    "f″(x) ≥ 0 on the whole interval: the function is convex here.":
        "在整个区间上 f″(x) ≥ 0：函数在这里是凸的。",
    "f″(x) < 0 wherever f is defined here: f is convex on no stretch of the interval (it is "
    "concave).":
        "在这里 f 有定义的地方处处 f″(x) < 0：f 在区间的任何一段上都不是凸的（它是凹的）。",
    "f″(x) ≥ 0 on {p:.0f}% of the interval (shaded): convex there, not convex elsewhere.":
        "在 {p:.0f}% 的区间上 f″(x) ≥ 0（阴影部分）：那里是凸的，其余部分不是凸的。",
    "Near x ≈ {xs} the curve itself bends down although f″(x) ≥ 0 at the samples around it: f″ "
    "does not exist everywhere (a kink, as at the top of −|x|) or changes faster than the samples "
    "show. The curve is not convex there.":
        "在 x ≈ {xs} 附近，虽然周围采样点上 f″(x) ≥ 0，曲线本身却向下弯：f″ 并非处处存在"
        "（有一个折点，就像 −|x| 的顶端），或者它的变化比采样点所能显示的更快。曲线在那里不是凸的。",
    "Convex on {p:.0f}% of the interval (shaded), where f″(x) ≥ 0 and the curve itself bends up; "
    "not convex elsewhere.":
        "在 {p:.0f}% 的区间上是凸的（阴影部分）：那里 f″(x) ≥ 0，且曲线本身向上弯；其余部分不是凸的。",
    "f′ ≈ 0, but not a minimum": "f′ ≈ 0，但不是最小值",
    "At x ≈ {xs} the slope is about 0 (|f′(x)| ≤ {tol:g}), yet f is lower close by, on one side "
    "or both: a maximum, a saddle, the top of a kink, or a flat shelf or gentle slope that f falls "
    "away from further on; not a minimum. Gradient descent stays there only because its step, η "
    "times the slope, is about 0.":
        "在 x ≈ {xs} 处斜率约为 0（|f′(x)| ≤ {tol:g}），但附近（一侧或两侧）的 f 值更低：这是最大值、"
        "鞍点、折点的顶端，或是 f 在更远处才下降的平台或缓坡，而不是最小值。梯度下降停在那里，只是因为"
        "它的步长（η 乘以斜率）约为 0。",
    "The runs that ended at a minimum stopped at different points with the same value, f ≈ {v:.4g}: "
    "a flat bottom, every point of which is a minimum.":
        "停在最小值处的各次运行终点不同，但 f 值相同（f ≈ {v:.4g}）：这是一个平坦的谷底，其上每一点都是"
        "最小值。",
    "Holds here: f(λa+(1−λ)b) = {fm:.4f} ≤ λf(a)+(1−λ)f(b) = {ch:.4f}":
        "此处成立：f(λa+(1−λ)b) = {fm:.4f} ≤ λf(a)+(1−λ)f(b) = {ch:.4f}",
    "Violated here: f(λa+(1−λ)b) = {fm:.4f} > λf(a)+(1−λ)f(b) = {ch:.4f}, so f is not convex on "
    "[a, b].":
        "此处不成立：f(λa+(1−λ)b) = {fm:.4f} > λf(a)+(1−λ)f(b) = {ch:.4f}，所以 f 在 [a, b] 上"
        "不是凸的。",
    "end x": "终点 x",
    "end f(x)": "终点 f(x)",
    "chord": "弦",
    "Sublevel sets are convex": "下水平集是凸集",
    "For a convex f every sublevel set S_b = {set} is a convex set: on a line, one "
    "interval. A set in separate pieces gives f away as not convex.":
        "凸函数 f 的每个下水平集 S_b = {set} 都是凸集：在直线上就是一个区间。"
        "分成几段的集合说明 f 不是凸的。",
    "f has no finite value on the interval, so it has no sublevel set to show.":
        "f 在区间上没有有限值，因此没有可显示的下水平集。",
    "level b": "水平 b",
    "sublevel set {set}": "下水平集 {set}",
    "Empty: b = {b:.4g} lies below the least value of f on the interval (about {m:.4g}). The "
    "empty set is convex, but says nothing about f.":
        "空集：b = {b:.4g} 低于 f 在区间上的最小值（约 {m:.4g}）。空集是凸集，但说明不了 f 的任何性质。",
    "S_b = {where}, one interval: convex, as every sublevel set of a convex function is.":
        "S_b = {where}，一个区间：是凸集，凸函数的每个下水平集都是如此。",
    "S_b = {where}, one interval: a convex set, although f is not convex here. Every sublevel "
    "set of a convex function is convex, but not the other way round: a function whose "
    "sublevel sets are all intervals (tanh, or x³ on an interval) is quasi-convex, not convex.":
        "S_b = {where}，一个区间：是凸集，尽管 f 在这里不是凸的。凸函数的每个下水平集都是凸集，"
        "反过来却不成立：下水平集全是区间的函数（tanh，或区间上的 x³）是拟凸的，而不是凸的。",
    "S_b = {where}: {n} separate pieces, not a convex set, so f is not convex: the chord "
    "between two points of the set leaves it.":
        "S_b = {where}：分成 {n} 段，不是凸集，所以 f 不是凸的：集合中两点之间的线段会离开这个集合。",

    # ---- explorer and shared optimization widgets -------------------------------------------
    "Pick a function, a method and a learning-rate schedule; every plot follows the sliders. The "
    "page opens at the book's 2D example: x₁² + 2x₂², η = 0.1, 20 steps from (−5, −2).":
        "选择目标函数、优化方法和学习率调度（书中称为动态学习率）；所有图都会随滑块实时更新。页面打开时是书中的二维例子："
        "x₁² + 2x₂²，η = 0.1，从 (−5, −2) 出发走 20 步。",
    "Settings": "设置",
    "Your own f(x) or f(x, y)": "自定义 f(x) 或 f(x, y)",
    "Numbers, x, y, + − * / ^, parentheses, sin cos tan exp log sqrt abs tanh cosh sinh, pi, e.":
        "可用：数字、x、y、+ − * / ^、括号、sin cos tan exp log sqrt abs tanh cosh sinh、pi、e。",
    "Cannot use this function: {why}": "无法使用这个函数：{why}",
    "Your own f(x)": "自定义 f(x)",
    "Numbers, x, + − * / ^, parentheses, sin cos tan exp log sqrt abs tanh cosh sinh, pi, e.":
        "可用：数字、x、+ − * / ^、括号、sin cos tan exp log sqrt abs tanh cosh sinh、pi、e。",
    "This page takes a function of x alone; f(x, y) belongs in the Explorer.":
        "本页只接受单变量函数 f(x)；f(x, y) 请在探索器中使用。",
    "Final x": "最终 x",
    "Final f(x)": "最终 f(x)",
    "Steps taken": "已走步数",
    "Contour": "等高线图",
    "3D surface": "三维曲面",
    "Objective against step": "目标函数值随步数的变化",
    "Learning rate against step": "学习率随步数的变化",
    "Iterates": "迭代过程",
    "Download CSV": "下载 CSV",
    "Download JSON": "下载 JSON",
    "Static figure for slides": "用于幻灯片的静态图",
    "Format": "格式",
    "Render": "生成",
    "Download {fmt}": "下载 {fmt}",
    "Method": "优化方法",
    "Learning-rate schedule": "学习率调度",
    "Learning rate η (log scale)": "学习率 η（对数刻度）",
    "Start {name}": "起点 {name}",
    "Diverged at step {k}: the iterate left |x| ≤ 1e8, so the run stopped there. Try a smaller "
    "learning rate.":
        "在第 {k} 步发散：迭代点超出了 |x| ≤ 1e8 的范围，运行在此停止。请尝试更小的学习率。",
    "Left the function's domain at step {k}: f or its gradient is not a number there, so the run "
    "stopped at x = {x}. Try a smaller learning rate or a start point further inside the domain.":
        "在第 {k} 步离开了函数的定义域：那里 f 或其梯度不是数，运行停在 x = {x}。"
        "请尝试更小的学习率，或选择更靠近定义域内部的起点。",
    "Stopped at step {k}: f or its gradient is infinite there (a pole, or a value too large for "
    "floating point), so the run stopped at x = {x}. Try a smaller learning rate.":
        "在第 {k} 步停止：那里 f 或其梯度为无穷大（极点，或数值超出浮点数范围），运行停在 x = {x}。"
        "请尝试更小的学习率。",
    "Singular at step {k}: the second derivative is zero at x = {x}, so Newton's step is "
    "undefined. Try another start point.":
        "在第 {k} 步遇到奇异点：x = {x} 处二阶导数为零，牛顿法的步长无定义。请换一个起点。",
    "Some values in the link could not be used, so their defaults are shown: {items}":
        "链接中的部分值无法使用，已改用默认值：{items}",

    # ---- compare optimizers ----------------------------------------------------------------
    "Several optimizers race from the same start point on the same function. The page opens on "
    "an ill-conditioned quadratic: gradient descent zig-zags across the narrow valley, momentum "
    "damps the zig-zag and arrives sooner, Adam takes steps of about η per coordinate and hovers "
    "near the minimum.":
        "多个优化方法在同一个函数上从同一个起点出发比赛。页面打开时是一个病态的二次函数：梯度下降"
        "在狭窄的山谷两侧来回振荡，动量法抑制了振荡、更快到达，Adam 在每个坐标上的步长约为 η，"
        "并在最小值附近徘徊。",
    "Tolerance": "容差",
    "A run reaches the tolerance at the step from which f(x_t) − f(x*) stays ≤ tolerance (for a "
    "function without a known minimum: the gradient norm). A run that dips below it and climbs "
    "back has not reached it.":
        "从某一步起 f(x_t) − f(x*) 始终 ≤ 容差，一次运行就在这一步达到了容差（对于最小值未知的函数："
        "看梯度范数）。先降到容差以下、又升回去的运行不算达到。",
    "Number of optimizers": "优化方法个数",
    "Optimizer {i}": "优化方法 {i}",
    "{name} diverged at step {k}: the iterate left |x| ≤ 1e8, so its run stopped there. Try a "
    "smaller learning rate.":
        "{name}在第 {k} 步发散：迭代点超出了 |x| ≤ 1e8 的范围，它的运行在此停止。"
        "请尝试更小的学习率。",
    "{name} stopped at step {k}: f or its gradient is not a finite number there (a value too "
    "large for floating point), so its run stopped. Try a smaller learning rate.":
        "{name}在第 {k} 步停止：那里 f 或其梯度不是有限数（数值超出浮点数范围），"
        "它的运行在此停止。请尝试更小的学习率。",
    "{name} stopped at step {k}: the Hessian is singular there, so Newton's step is undefined.":
        "{name}在第 {k} 步停止：那里的黑塞矩阵是奇异的，牛顿法的步长无定义。",
    "Optimizer {i}'s path leaves the plot after step {k}; the loss curve and the table show its "
    "whole run.":
        "优化方法 {i} 的路径在第 {k} 步之后离开了绘图区域；目标函数曲线和表格给出了它的完整运行。",
    "▶ Play": "▶ 播放",
    "❚❚ Pause": "❚❚ 暂停",
    "step {k}": "第 {k} 步",
    "Curve": "曲线",
    "Playback": "回放",
    "Step through the iterates with the arrow keys on the step slider (`Home` and `End`: the "
    "first and the last step), or press ▶ Play to animate from the step shown; the big dots are "
    "where each optimizer is at that step.":
        "在步数滑块上用方向键逐步查看迭代过程（`Home` 和 `End` 键：第一步和最后一步），或点击 ▶ 播放，"
        "从当前显示的这一步开始动画；大圆点表示各优化方法在该步所处的位置。",
    "Step": "当前步",
    "Objective against step (log scale where possible)": "目标函数值随步数的变化（尽可能用对数刻度）",
    "ran all {n} steps": "跑完全部 {n} 步",
    "diverged at step {k}": "在第 {k} 步发散",
    "singular at step {k}": "在第 {k} 步遇到奇异点",
    "steps to {tol}": "达到 {tol} 的步数",
    "steps until f − f* stays ≤ {tol}": "f − f* 从此保持 ≤ {tol} 的步数",
    "steps until ‖∇f‖ stays ≤ {tol}": "‖∇f‖ 从此保持 ≤ {tol} 的步数",
    "at {k}, left again": "第 {k} 步达到，后又离开",
    "optimizer": "优化方法",
    "status": "状态",
    "final x": "最终 x",
    "final f(x)": "最终 f(x)",
    "Where each optimizer ended": "各优化方法的终点",
    "not reached": "未达到",

    # ---- training pages --------------------------------------------------------------------
    "The from-scratch BatchNorm follows the chapter's `batch_norm`, with one difference in its "
    "moving variance: it starts at 1 and takes the unbiased batch variance (÷ (m − 1)), as "
    "nn.BatchNorm's does, where the chapter's code starts it at 0 and takes the biased one (÷ m). "
    "That keeps the two layers identical, so the page compares BN against no BN and not two "
    "bookkeepings. The start fades as 0.9 to the power of the steps (0.5% after 50 steps); m is "
    "the batch (times H × W for a convolution).":
        "从零实现的 BatchNorm 沿用本章的 `batch_norm`，只有移动方差一处不同：它从 1 开始，并用无偏的"
        "批量方差（÷ (m − 1)）更新，与 nn.BatchNorm 相同；本章代码则从 0 开始，用有偏的方差（÷ m）。"
        "这样两种实现完全一致，页面比较的是有无批量规范化，而不是两种记账方式。初值的影响按 0.9 的"
        "步数次方衰减（50 步后只剩 0.5%）；m 是批量大小（卷积层还要乘以 H × W）。",
    "Standardizing the inputs makes every feature have mean 0 and variance 1 over the dataset. "
    "**Batch normalization** does the same for a deep network's intermediate outputs, using the "
    "mean and variance of each minibatch, so that the values flowing through the network stay "
    "stable.\n\n"
    "- **Fully connected layers**: between the affine transform and the activation, per "
    "feature.\n"
    "- **Convolutional layers**: after the convolution and before the activation, per channel, "
    "over all m × p × q values of that channel in the batch; each channel has its own scale γ "
    "and shift β.\n"
    "- **Prediction**: training uses each batch's statistics; evaluation uses moving averages "
    "estimated during training (momentum 0.9 on the old value).":
        "对输入做标准化，使每个特征在数据集所有样本上的均值为 0、方差为 1。**批量归一化**对深度"
        "网络的中间输出做同样的事：利用每个小批量上的均值和方差不断调整中间输出，使整个网络各层"
        "中间输出的数值更稳定。\n\n"
        "- **全连接层**：位于仿射变换和激活函数之间，对每个特征分别归一化。\n"
        "- **卷积层**：位于卷积计算之后、激活函数之前，对每个通道分别归一化，使用该通道在小批量中"
        "全部 m × p × q 个元素的均值和方差；每个通道都有独立的拉伸参数 γ 和偏移参数 β。\n"
        "- **预测**：训练时使用每个小批量的统计量；预测时使用训练中以移动平均估算的均值和方差"
        "（动量 0.9 作用于旧值）。",
    "Train LeNet without BN, then with BN (from scratch, or nn.BatchNorm): finished runs are "
    "overlaid, the chapter's point. Sigmoid LeNet without BN learns slowly.":
        "先训练不带批量归一化的 LeNet，再训练带批量归一化的版本（从零实现，或 nn.BatchNorm）："
        "训练完成的曲线会叠加在一起，这正是本章要说明的。不带批量归一化的 sigmoid LeNet 学得很慢。",
    "Layers of the model (output shape and parameters)": "模型的各层（输出形状和参数量）",
    "Residual networks (ResNet)": "残差网络（ResNet）",
    "Past a certain depth, adding layers to a plain CNN stops helping: training converges more "
    "slowly and accuracy gets worse. A **residual block** learns f(x) − x instead of f(x): its "
    "input skips over two 3 × 3 convolutions (each followed by batch normalization) and is added "
    "back before the last ReLU, so a block can fall back to the identity easily. When the block "
    "halves the height and width or changes the channels, a 1 × 1 convolution with stride 2 "
    "reshapes the shortcut.\n\n"
    "ResNet-18: a 7 × 7 convolution with 64 channels, batch normalization and 3 × 3 max pooling, "
    "then four modules of two residual blocks (64, 128, 256, 512 channels; each later module "
    "halves height and width), global average pooling and a fully connected layer.":
        "普通的卷积神经网络达到一定深度后，再一味增加层数并不能进一步提高性能，反而会使网络收敛"
        "更慢、准确率更差。**残差块**学习的是 f(x) − x 而不是 f(x)：输入跨过两个 3 × 3 卷积层"
        "（每个之后都接批量归一化），在最后一个 ReLU 之前加回输出，因此残差块很容易退化为恒等映射。"
        "当残差块把高和宽减半或改变通道数时，用一个步幅为 2 的 1 × 1 卷积层调整捷径上的输入形状。\n\n"
        "ResNet-18：一个 64 通道的 7 × 7 卷积层、批量归一化和 3 × 3 最大池化层，接着是四个各含两个"
        "残差块的模块（通道数分别为 64、128、256、512；之后的每个模块都把高和宽减半），最后是"
        "全局平均池化层和全连接层。",
    "Input size for the table": "表格所用的输入尺寸",
    "Densely connected networks (DenseNet)": "稠密连接网络（DenseNet）",
    "Where ResNet **adds** a block's input to its output, DenseNet **concatenates** them on the "
    "channel axis, so every layer sees the outputs of all the layers before it.\n\n"
    "- A **dense block** is a chain of convolution blocks (batch norm, ReLU, 3 × 3 convolution); "
    "each adds `growth` new channels (32 here) to what came in: 4 convolutions take 64 channels "
    "to 64 + 4 × 32 = 192.\n"
    "- A **transition layer** (batch norm, ReLU, 1 × 1 convolution, 2 × 2 average pooling) "
    "halves the channels and the height and width, so the model does not grow too large.\n\n"
    "The model: the same stem as ResNet, four dense blocks of 4 convolutions with transition "
    "layers between them, then batch norm, ReLU, global pooling and a fully connected layer.":
        "残差网络把块的输入与输出**相加**，而稠密连接网络在通道维上把它们**连结**起来，因此每一层"
        "都能看到它之前所有层的输出。\n\n"
        "- **稠密块**由若干卷积块（批量归一化、ReLU、3 × 3 卷积）串联而成；每个卷积块在输入的基础上"
        "增加 `growth` 个新通道（这里为 32）：4 个卷积块把 64 个通道变为 64 + 4 × 32 = 192 个。\n"
        "- **过渡层**（批量归一化、ReLU、1 × 1 卷积、2 × 2 平均池化）把通道数以及高和宽都减半，"
        "以控制模型的复杂度，使通道数不至于过大。\n\n"
        "模型结构：与残差网络相同的起始部分，四个各含 4 个卷积块的稠密块，块与块之间是过渡层，"
        "最后是批量归一化、ReLU、全局池化层和全连接层。",
    "{n:,} parameters; input 1 × 1 × {s} × {s}.": "共 {n:,} 个参数；输入 1 × 1 × {s} × {s}。",
    "layer": "层",
    "type": "类型",
    "output shape": "输出形状",
    "parameters": "参数量",
    # the block sections of the ResNet and DenseNet pages (ui/blocks.py)
    "{call} on X of shape {x}: the output has shape **{y}**.":
        "{call} 作用于形状为 {x} 的 X：输出形状为 **{y}**。",
    "Book: {call}": "书中的例子：{call}",
    "Input channels": "输入通道数",
    "Output channels": "输出通道数",
    "Stride": "步幅",
    "Height": "高",
    "Width": "宽",
    "One residual block: the book's shape experiments": "单个残差块：书中的形状实验",
    "The book runs a single residual block on a random X of shape 4 × 3 × 6 × 6. "
    "`Residual(3, 3)` keeps the shape. `Residual(3, 6, use_1x1conv=True, stride=2)` doubles "
    "the channels and halves the height and width; the block ends with Y + X, so the "
    "shortcut X must take the shape of the block's output Y, which is the job of the 1 × 1 "
    "convolution (with the same stride). Change the settings and see what comes out, or why "
    "it cannot work.":
        "书中把单个残差块作用于形状为 4 × 3 × 6 × 6 的随机输入 X。`Residual(3, 3)` 保持形状不变；"
        "`Residual(3, 6, use_1x1conv=True, stride=2)` 把通道数加倍，并把高和宽减半。残差块最后"
        "计算 Y + X，所以捷径上的 X 必须变成与残差块输出 Y 相同的形状，这正是 1 × 1 卷积层"
        "（步幅相同）的作用。改变下面的设置，看看输出的形状，或者为什么行不通。",
    "1 × 1 convolution on the shortcut": "捷径上的 1 × 1 卷积层",
    "`use_1x1conv=True`: a 1 × 1 convolution with the block's stride turns the shortcut X into "
    "the shape of the output Y":
        "`use_1x1conv=True`：用一个与残差块步幅相同的 1 × 1 卷积层，把捷径上的 X 变成与输出 Y "
        "相同的形状",
    "One dense block and one transition layer: the book's shape experiments":
        "一个稠密块和一个过渡层：书中的形状实验",
    "The book runs `DenseBlock(2, 3, 10)` on a random X of shape 4 × 3 × 8 × 8: each of its "
    "2 convolutions adds 10 channels to what came in, so its output Y has 3 + 2 × 10 = 23 "
    "channels and the same height and width. Then `transition_block(23, 10)` on Y: its 1 × 1 "
    "convolution takes the 23 channels to 10 and its 2 × 2 average pooling halves the height "
    "and width, to 4 × 10 × 4 × 4.":
        "书中把 `DenseBlock(2, 3, 10)` 作用于形状为 4 × 3 × 8 × 8 的随机输入 X：它的 2 个卷积块"
        "各在输入的基础上增加 10 个通道，所以输出 Y 有 3 + 2 × 10 = 23 个通道，高和宽不变。然后把 "
        "`transition_block(23, 10)` 作用于 Y：它的 1 × 1 卷积层把 23 个通道减为 10 个，2 × 2 "
        "平均池化层把高和宽减半，得到 4 × 10 × 4 × 4。",
    "Dense block": "稠密块",
    "Convolutions": "卷积块数",
    "`num_convs`: the number of convolution blocks in the dense block":
        "`num_convs`：稠密块中卷积块的个数",
    "Growth rate": "增长率",
    "The channels each convolution adds (the book's `out_channels`)":
        "每个卷积块增加的通道数（书中的 `out_channels`）",
    "Output channels: {c} + {k} × {g} = **{out}**": "输出通道数：{c} + {k} × {g} = **{out}**",
    "Transition layer": "过渡层",
    "Output channels of the transition layer": "过渡层的输出通道数",
    "In the model, each transition layer halves the channels": "在模型中，每个过渡层都把通道数减半",
    "The transition layer takes the dense block's output Y: it is shown once the dense block "
    "works.": "过渡层的输入是稠密块的输出 Y：稠密块能正常运行后才会显示。",
    "Channels {a} → {b} (the 1 × 1 convolution); height and width {h} × {w} → {h2} × {w2} (the "
    "2 × 2 average pooling halves them, rounding down).":
        "通道数 {a} → {b}（1 × 1 卷积层）；高和宽 {h} × {w} → {h2} × {w2}（2 × 2 平均池化层把它们"
        "减半，向下取整）。",
    "Model": "模型",
    "Dataset": "数据集",
    "Device": "设备",
    "Optimizer": "优化方法",
    "Batch size": "批量大小",
    "Starts at the dataset's own ({defaults}): the chapter's batch on Fashion-MNIST; on the small "
    "digits set, enough steps an epoch for BatchNorm's moving averages, which the test pass uses, "
    "to keep up.":
        "初始值随数据集而定（{defaults}）：Fashion-MNIST 用本章的批量；在较小的 digits 数据集上，"
        "每个迭代周期有足够的步数，让测试时使用的批量归一化移动平均跟得上。",
    "Epochs": "迭代周期数",
    "Learning rate": "学习率",
    "Seed": "随机种子",
    "Input 28 × 28 (LeNet's size).": "输入 28 × 28（LeNet 的尺寸）。",
    "Resize input to": "将输入缩放到",
    "Fast mode": "快速模式",
    "Larger batches with the learning rate scaled and warmed up, fewer host syncs, PyTorch's "
    "fused batch-norm kernel. Same accuracy, less time.":
        "使用更大的批量，并相应放大学习率、加入预热；减少与主机的同步；批量归一化改用 PyTorch "
        "的融合内核。准确率相同，用时更短。",
    "Exact fp32": "全程 fp32",
    "Preparing the first steps…": "正在准备最初几步…",
    "Compile": "编译",
    "torch.compile the model before the first step: 20 s or more of compiling (20 to 48 s for "
    "ResNet-18 and DenseNet on an H200; the page says so, and Stop acts after it), then faster "
    "steps (1.5× for both at batch 256, 1.1× and 1.2× in fast mode). Worth it for long runs only.":
        "在第一步之前用 torch.compile 编译模型：编译需要 20 秒或更久（ResNet-18 和 DenseNet 在 "
        "H200 上为 20 到 48 秒；页面会显示，停止在编译结束后生效），之后每一步更快（批量 256 "
        "时两者都为 1.5 倍，快速模式下为 1.1 倍和 1.2 倍）。只适合长时间的训练。",
    "Compiling the model (torch.compile) before the first step: tens of seconds; Stop acts after "
    "it…": "正在用 torch.compile 编译模型（第一步之前）：需要几十秒；停止在编译结束后生效…",
    "Preparing the first steps (on a GPU, cuDNN first tries its kernels for these shapes: a few "
    "seconds, once per shape)…":
        "正在准备最初几步（在 GPU 上，cuDNN 会先为这些形状试选内核：需要几秒，每种形状只一次）…",
    "Test accuracy trails train accuracy: with only {steps} steps an epoch, BatchNorm's moving "
    "averages (momentum 0.9), which the test pass uses, have not caught up with the trained "
    "weights yet. A smaller batch or more epochs gives them more steps.":
        "测试准确率明显低于训练准确率：每个迭代周期只有 {steps} 步，测试时使用的批量归一化移动平均"
        "（动量 0.9）还没跟上训练后的权重。减小批量大小或增加迭代周期数，能让它们多更新几步。",
    "Off: ResNet-18 and DenseNet compute in bf16 on a GPU and on a CPU that does so natively "
    "(about 1.25× faster on a GPU, 2–3× on a CPU, the same learning curves). On: float32 "
    "everywhere.":
        "关闭：在 GPU 和原生支持 bf16 的 CPU 上，ResNet-18 和 DenseNet 以 bf16 计算（GPU 上约快 "
        "1.25 倍，CPU 上快 2–3 倍，学习曲线相同）。打开：全程使用 float32。",
    "Fashion-MNIST is not in {dir} yet: it will be downloaded on Start (about 30 MB). Without "
    "network, choose the offline 'digits' dataset.":
        "{dir} 中还没有 Fashion-MNIST：点击“开始”时会自动下载（约 30 MB）。如果没有网络，请选择"
        "离线的“digits”数据集。",
    "Cannot train with these settings: {why}": "无法用这些设置训练：{why}",
    "train loss": "训练损失",
    "train acc": "训练准确率",
    "test acc": "测试准确率",
    "epoch": "迭代周期",
    "accuracy": "准确率",
    "loss": "损失",
    "Training finished.": "训练已完成。",
    "Training {label}: {pct:.0f}%": "正在训练 {label}：{pct:.0f}%",
    "Training {label}: {status}": "正在训练 {label}：{status}",
    "Queued: {label}, position {n}": "排队中：{label}，第 {n} 位",
    "Starting…": "正在启动…",
    "Loading data: {msg}": "正在加载数据：{msg}",
    "Downloading Fashion-MNIST (once): {msg}": "正在下载 Fashion-MNIST（仅一次）：{msg}",
    "Epoch {e}, step {s}/{n}: {eps:,.0f} examples/s, about {left} left":
        "第 {e} 个迭代周期，第 {s}/{n} 步：每秒 {eps:,.0f} 个样本，约剩 {left}",
    "predicted": "预测类别",
    "true": "真实类别",
    "Test accuracy": "测试准确率",
    "Train accuracy": "训练准确率",
    "Examples/s": "样本/秒",
    "Time": "用时",
    "This run was not saved to the history: {why}": "这次训练没有保存到训练记录：{why}",
    "Confusion matrix": "混淆矩阵",
    "Test images": "测试图像",
    # the "Inside the model" tab (ui/inside.py)
    "Inside the model": "模型内部",
    "conv": "卷积",
    "linear": "全连接",
    "BN": "BN",
    "block": "块",
    "sigmoid": "sigmoid 层",
    "Running test images through the network…": "正在让测试图像通过网络…",
    "This run's weights are not kept in this session any more.": "本次会话已不再保存这次运行的权重。",
    "Each layer's output": "每一层的输出",
    "The spread (standard deviation) of every layer's output over {n} test images, and the share "
    "of sigmoid units that are saturated (output below 0.02 or above 0.98, where the slope, and "
    "with it the gradient, all but vanishes). The test pass's mode: batch normalisation uses its "
    "moving averages.":
        "每一层输出在 {n} 张测试图像上的离散程度（标准差），以及处于饱和状态的 sigmoid 单元所占比例"
        "（输出低于 0.02 或高于 0.98，此时斜率以及梯度几乎消失）。与测试时的模式相同：批量归一化使用其"
        "移动平均。",
    "this run": "本次运行",
    "The spread (standard deviation) of every layer's output over {n} test images; the table "
    "gives, for each ReLU, the share of its outputs that are exactly 0. The test pass's mode: "
    "batch normalisation uses its moving averages.":
        "每一层输出在 {n} 张测试图像上的离散程度（标准差）；表中给出每个 ReLU 输出恰好为 0 的比例。"
        "与测试时的模式相同：批量归一化使用其移动平均。",
    "zero (ReLU)": "为零（ReLU）",
    "Earlier runs on this page whose insides you looked at are drawn too.":
        "本页面上之前查看过内部的运行也一并画出。",
    "mean": "均值",
    "std": "标准差",
    "saturated": "饱和",
    "The numbers": "具体数值",
    "The first convolution's filters": "第一个卷积层的滤波器",
    "{n} filters of {h} × {w} weights: red positive, blue negative.":
        "{n} 个 {h} × {w} 的滤波器：红色为正，蓝色为负。",
    "Activation maps of a test image": "一张测试图像的激活图",
    "Test image": "测试图像",
    "#{i}: {label}": "第 {i} 张：{label}",
    "Each stage's output for this image (the first {k} channels at most), scaled together per "
    "stage: black the stage's lowest value, white its highest.":
        "这张图像在每个阶段的输出（最多显示前 {k} 个通道），同一阶段统一缩放：黑色为该阶段的最小值，"
        "白色为最大值。",
    "`{name}` (`{type}`): {c} × {h} × {w}, from {lo:.2f} to {hi:.2f}":
        "`{name}`（`{type}`）：{c} × {h} × {w}，取值从 {lo:.2f} 到 {hi:.2f}",
    "mean {m:.3f}, std {s:.3f}": "均值 {m:.3f}，标准差 {s:.3f}",
    "std · {run}": "标准差 · {run}",
    "saturated · {run}": "饱和 · {run}",
    "saturated sigmoid units": "饱和的 sigmoid 单元",
    "output std": "输出标准差",
    "saturated fraction": "饱和比例",
    "filter": "滤波器",
    "Download weights (.pt)": "下载权重 (.pt)",
    "Start": "开始",
    "Stop": "停止",
    "This session is already training; stop it first.": "本会话已有训练在进行，请先停止它。",
    "A run started on another page is in progress; it keeps going while you are here. Stop it "
    "there (or here) to start one on this page.":
        "另一个页面启动的训练正在进行，你在这里时它也会继续。请在那里（或这里）停止它，"
        "才能在本页开始新的训练。",
    "Queued: position {n}. Another session is training; yours starts next.":
        "排队中：第 {n} 位。另一个会话正在训练，接下来轮到你。",
    "Training failed: {why}": "训练失败：{why}",
    "unknown error": "未知错误",
    "Stopped after {s} steps.": "已在 {s} 步后停止。",
    "Stopped at step {step}: the confusion matrix and the test images come from the test pass "
    "after epoch {epoch}, the last finished one, like the test accuracy; the weights download "
    "holds the weights at the stop.":
        "在第 {step} 步停止：混淆矩阵和测试图像与测试准确率一样，来自最后完成的第 {epoch} 个"
        "迭代周期之后的测试；下载的权重是停止时的权重。",
    "Stopped before the first test pass: no confusion matrix. The test images show the "
    "predictions of the weights at the stop.":
        "在第一次测试之前就停止了：没有混淆矩阵。测试图像显示的是停止时的权重所做的预测。",
    "Runs to overlay": "要叠加显示的训练",
    "Under each test image: ✅ and the predicted class when it is right; ❌, the predicted class "
    "and, in brackets, the true class when it is wrong.":
        "每张测试图像下方：预测正确时为 ✅ 和预测的类别；预测错误时为 ❌、预测的类别，以及括号里的"
        "真实类别。",
    "❌ {pred} ({true})": "❌ {pred}（{true}）",
    "{kind}, predicted {pred}, true {true}": "{kind}，预测为 {pred}，真实为 {true}",
    "digit": "数字",
    "clothing item": "服饰",
    "image": "图像",
    "{run}: stopped before finishing an epoch.": "{run}：在完成第一个迭代周期前停止。",
    "{run}: stopped in epoch {n}, train accuracy {train}, test accuracy {test}.":
        "{run}：在第 {n} 个迭代周期中停止，训练准确率 {train}，测试准确率 {test}。",
    "{run}: {n} epoch(s), train accuracy {train}, test accuracy {test}.":
        "{run}：{n} 个迭代周期，训练准确率 {train}，测试准确率 {test}。",
    "t-shirt": "T恤",
    "trouser": "裤子",
    "pullover": "套衫",
    "dress": "连衣裙",
    "coat": "外套",
    "sandal": "凉鞋",
    "shirt": "衬衫",
    "sneaker": "运动鞋",
    "bag": "包",
    "ankle boot": "短靴",
    "{model} · {optimizer} lr {lr:g} · bs {bs}": "{model} · {optimizer} 学习率 {lr:g} · 批量 {bs}",
    "{n} ep": "{n} 个迭代周期",
    "seed {n}": "种子 {n}",
    "{n} px": "{n} 像素",
    "native size": "原始尺寸",
    "auto precision": "自动精度",
    "compiled": "编译",
    "not compiled": "不编译",
    "{s:.0f} s": "{s:.0f} 秒",
    "{s:.1f} s": "{s:.1f} 秒",

    # ---- runs ------------------------------------------------------------------------------
    "done": "已完成",
    "stopped": "已停止",
    "failed": "失败",
    "Deleted {n} run(s) and their weights.": "已删除 {n} 次训练及其权重。",
    "Could not delete: {why}": "无法删除：{why}",
    "train_loss": "训练损失",
    "train_acc": "训练准确率",
    "test_acc": "测试准确率",
    "examples_per_s": "样本/秒",
    "step": "步数",
    "examples": "样本数",
    "lr": "学习率",
    "partial": "未跑完",
    "world_size": "进程数",
    "created": "创建时间",
    "model": "模型",
    "dataset": "数据集",
    "learning rate": "学习率",
    "batch size": "批量大小",
    "epochs": "迭代周期数",
    "fast": "快速模式",
    "test accuracy": "测试准确率",
    "seconds": "用时（秒）",
    "device": "设备",
    "Every finished training run is saved here with its curves, settings and weights. Pick runs "
    "in the table to overlay their curves.":
        "每次完成的训练都会连同曲线、设置和权重保存在这里。在表格中选择若干次训练即可叠加它们的曲线。",
    "The run history cannot be read: {why}": "无法读取训练记录：{why}",
    "No runs yet. Train a model on one of the training pages; every finished run appears here, "
    "so you can compare them later.":
        "还没有训练记录。请在任一训练页面训练一个模型；每次完成的训练都会出现在这里，方便日后比较。",
    "Models": "模型",
    "All models": "全部模型",
    "Datasets": "数据集",
    "All datasets": "全部数据集",
    "{n} run(s) shown, {k} selected. With the keyboard: `Tab` into the table, the arrow keys to "
    "a run, `Shift`+`Space` to select it or not.":
        "显示 {n} 次训练，已选择 {k} 次。用键盘：按 `Tab` 进入表格，用方向键移到一次训练，按 "
        "`Shift`+`Space`（空格键）选中或取消。",
    "The link names runs that are not in the history (deleted?): {ids}":
        "链接中的这些训练不在历史记录里（已删除？）：{ids}",
    "Select one or more runs in the table (tick the boxes on the left) to compare their curves, "
    "see their settings and download their weights.":
        "在表格中选择一次或多次训练（勾选左侧的复选框），即可比较它们的曲线、查看设置并下载权重。",
    "Run {id} cannot be shown: {why}": "无法显示训练 {id}：{why}",
    "Curves": "曲线",
    "This run stopped before finishing an epoch.": "这次训练在完成一个迭代周期之前就停止了。",
    "No weights stored for this run.": "这次训练没有保存权重。",
    "This run's weights are no longer available: the run was deleted meanwhile (in another "
    "tab?).":
        "这次训练的权重已不可用：训练记录已在此期间被删除（也许是在另一个标签页中）。",
    "Delete selected runs": "删除所选训练",
    "Deletes {n} run(s) and their weights files. This cannot be undone.":
        "将删除 {n} 次训练及其权重文件。此操作无法撤销。",
    "I am sure": "我确定",
    "Delete": "删除",

    # ---- registries: optim.functions.FUNCTIONS -----------------------------------------------
    "x·cos(cx): local vs global minimum": "x·cos(cx)：局部最小值与全局最小值",
    "x³: a saddle point in 1D": "x³：一维中的鞍点",
    "tanh(x): vanishing gradient": "tanh(x)：梯度消失",
    "cosh(cx): Newton's method": "cosh(cx)：牛顿法",
    "x²: 1D gradient descent": "x²：一维梯度下降",
    "x₁² + 2x₂²: 2D gradient descent": "x₁² + 2x₂²：二维梯度下降",
    "x² − y²: saddle surface": "x² − y²：鞍面",
    "Rosenbrock: a curved valley": "Rosenbrock 函数：弯曲的山谷",
    "Himmelblau: four minima": "Himmelblau 函数：四个最小值",
    "Ill-conditioned quadratic": "病态二次函数",
    "Bumpy bowl: many local minima": "起伏的碗：许多局部最小值",
    "frequency c": "频率 c",
    "scale c": "缩放系数 c",
    "a: the minimum sits at (a, a²)": "a：最小值位于 (a, a²)",
    "b: steepness of the valley walls": "b：谷壁的陡峭程度",
    "condition number κ (curvature ratio y : x)": "条件数 κ（y 与 x 方向的曲率之比）",
    "amplitude A of the bumps": "起伏的振幅 A",
    "Non-convex: gradient descent can stop in a local minimum.":
        "非凸函数：梯度下降可能停在局部最小值。",
    "Gradient and second derivative both vanish at 0.": "梯度和二阶导数在 0 处都为零。",
    "Far from 0 the gradient is almost zero and descent crawls.":
        "远离 0 处梯度几乎为零，下降得非常缓慢。",
    "Convex; Newton's method converges in a few steps.": "凸函数；牛顿法几步之内就能收敛。",
    "The book's first example of gradient descent.": "书中第一个梯度下降的例子。",
    "Convex, with different curvature along the two axes.": "凸函数，两个坐标轴方向的曲率不同。",
    "A minimum along x and a maximum along y.": "沿 x 方向是最小值，沿 y 方向是最大值。",
    "The valley floor is easy to reach and slow to follow to the minimum (a, a²).":
        "谷底很容易到达，但沿谷底走到最小值 (a, a²) 却很慢。",
    "Which of the four equal minima you reach depends on the start point.":
        "到达四个同样大小的最小值中的哪一个，取决于起点。",
    "Gradient descent is stable only for η < 2/κ and zig-zags across the valley; Newton's method "
    "needs one step.":
        "梯度下降只在 η < 2/κ 时稳定，并会在山谷两侧来回振荡；牛顿法只需一步。",
    "A bowl with ripples: plain gradient descent stops in the nearest dip.":
        "带有波纹的碗：普通的梯度下降会停在最近的小坑里。",

    # ---- registries: optim.methods.METHODS -------------------------------------------------
    "Gradient descent": "梯度下降",
    "Newton's method": "牛顿法",
    "SGD (noisy gradient)": "随机梯度下降（带噪声的梯度）",
    "Momentum": "动量法",
    "Nesterov momentum": "Nesterov 动量法",
    "AdaGrad": "AdaGrad 算法",
    "RMSProp": "RMSProp 算法",
    "Adam": "Adam 算法",
    "x ← x − η∇f(x)": "x ← x − η∇f(x)",
    "x ← x − η f'(x) / f''(x)": "x ← x − η f'(x) / f''(x)",
    "x ← x − η H(x)⁻¹∇f(x)": "x ← x − η H(x)⁻¹∇f(x)",
    "x ← x − η(∇f(x) + ε), ε ~ N(0, σ²)": "x ← x − η(∇f(x) + ε)，ε ~ N(0, σ²)",
    "v ← γv + ∇f; x ← x − ηv": "v ← γv + ∇f；x ← x − ηv",
    "look-ahead momentum": "前瞻式动量",
    "per-coordinate rate from Σg²": "按坐标由 Σg² 调整学习率",
    "per-coordinate rate from a moving average of g²": "按坐标由 g² 的移动平均调整学习率",
    "momentum plus RMSProp, bias-corrected": "动量法加 RMSProp，带偏差修正",
    "standard deviation σ of the gradient noise": "梯度噪声的标准差 σ",
    "random seed": "随机种子",
    "momentum γ": "动量 γ",
    "decay γ": "衰减率 γ",
    "ε": "ε",
    "β₁": "β₁",
    "β₂": "β₂",

    # ---- registries: optim.schedules.SCHEDULES ----------------------------------------------
    "Constant": "常数",
    "Exponential decay": "指数衰减",
    "Polynomial decay": "多项式衰减",
    "Cosine decay": "余弦衰减",
    "Step decay": "分段（阶梯）衰减",
    "decay rate k": "衰减率 k",
    "rate a": "速率 a",
    "power b": "幂次 b",
    "step offset t₀": "步数偏移 t₀",
    "t₀ = 2 is the book's code: its step counter starts at 1 and goes up by 1 before the first "
    "step. t₀ = 0 decays from the first step.":
        "t₀ = 2 与书中代码一致：它的步数计数器从 1 开始，并在第一步之前先加 1。"
        "t₀ = 0 则从第一步就开始衰减。",
    "Parameters of the method": "优化方法的参数",
    "The book's runs, one click each": "书中的例子，一键重现",
    "Learning-rate schedules": "学习率调度",
    "Gradient descent on x², η = 0.2": "x² 上的梯度下降，η = 0.2",
    "η too small: 0.05": "η 过小：0.05",
    "η too large: 1.1": "η 过大：1.1",
    "Stuck in a local minimum: x·cos(cx), η = 2": "困在局部最小值：x·cos(cx)，η = 2",
    "Gradient descent on x₁² + 2x₂²": "x₁² + 2x₂² 上的梯度下降",
    "Newton on cosh(cx)": "cosh(cx) 上的牛顿法",
    "Newton on a non-convex function": "非凸函数上的牛顿法",
    "Newton with η = 0.5": "η = 0.5 的牛顿法",
    "The book prints: `{line}`": "书中输出：`{line}`",
    "The book's run has random gradient noise, so its numbers differ each time; one run of the "
    "book printed `{line}`.":
        "书中的这个例子带有随机梯度噪声，每次运行的数值都不同；书中的一次运行输出：`{line}`。",
    "The book's run “{title}”. Its gradient noise is random, so the numbers differ from run to "
    "run: one run of the book printed `{line}`; here (seed {seed}): `{ours}`.":
        "书中的例子“{title}”。它的梯度噪声是随机的，每次运行的数值都不同：书中的一次运行输出"
        "`{line}`；这里（随机种子 {seed}）：`{ours}`。",
    "The book's run “{title}”. The book prints: `{line}`; here: `{ours}`.":
        "书中的例子“{title}”。书中输出：`{line}`；这里：`{ours}`。",
    "SGD, constant η: 50 steps": "随机梯度下降，常数 η：50 步",
    "SGD, exponential decay: 1000 steps": "随机梯度下降，指数衰减：1000 步",
    "SGD, polynomial decay: 50 steps": "随机梯度下降，多项式衰减：50 步",
    "The book's SGD on x₁² + 2x₂² from (−5, −2), η = 0.1, with its gradient noise (σ = 1; set σ "
    "to 0 for its noise-free numbers). Its code starts its step counter at 1 and adds 1 before "
    "the first step, so its first step already uses t = 2. Here the first step is t = 0, so these "
    "runs set the offset t₀ = 2. The book's code draws its noise with `np.random.normal(0.1)`, "
    "whose mean is 0.1, not 0: with a constant η the runs then settle around (−0.05, −0.025) "
    "instead of (0, 0). "
    "Here, as in the book's later editions, the mean is 0.":
        "书中的随机梯度下降：在 x₁² + 2x₂² 上从 (−5, −2) 出发，η = 0.1，带书中的梯度噪声"
        "（σ = 1；把 σ 设为 0 可得到无噪声的数值）。书中代码的步数计数器从 1 开始，并在第一步之前"
        "先加 1，所以它的第一步用的已经是 t = 2。这里第一步是 t = 0，因此这些例子把偏移设为 t₀ = 2。"
        "书中的代码用 `np.random.normal(0.1)` 生成噪声，其均值是 0.1 而不是 0：在常数 η 下，"
        "运行会在 (−0.05, −0.025) 附近徘徊，而不是 (0, 0)。这里和本书后来的版本一样，噪声均值为 0。",
    "final fraction f of η": "最终学习率占初始 η 的比例 f",
    "steps between drops s": "每次下降之间的步数 s",
    "factor per drop γ": "每次下降的乘数 γ",
    "Value out of range: f is not a finite number at the start point x = {x}. Choose a start point closer to the function's domain.":
        "数值超出范围：f 在起点 x = {x} 处不是有限数。请选择离函数定义域更近的起点。",
    "Slide η": "拖动 η",
    "Drag the slider under the chart: every learning rate of the sidebar's grid is already "
    "computed, so the path follows as you drag. The sidebar, the other charts and the link stay "
    "at η = {eta}. With the keyboard, the sidebar's η slider steps through the same grid with the "
    "arrow keys, one run at a time.":
        "拖动图下方的滑块：侧边栏网格上的每个学习率都已算好，路径随拖动即时变化。侧边栏、其他图表和链接"
        "仍保持 η = {eta}。用键盘时，侧边栏的 η 滑块可用方向键逐个走过同一组学习率，每次一条路径。",
    "η = ": "η = ",
    "η: where each run ends after {n} steps": "η：各次运行 {n} 步后停在哪里",
    "f(x_n) − f(x*)": "f(x_n) − f(x*)",
    "f(x_n)": "f(x_n)",
    "critical η": "临界 η",
    "left the view at step {k}": "在第 {k} 步离开视图",
    "below f(x*)": "低于 f(x*)",
    "η₀ = ": "η₀ = ",
    "Slide γ": "拖动 γ",
    # the Explorer's first-order (Taylor) check of each step
    "Does each step go down? The first-order (Taylor) prediction": "每一步都在下降吗？一阶（泰勒）预测",
    "Taylor: $f(x + \\Delta x) \\approx f(x) + \\nabla f(x)^\\top \\Delta x$. For a gradient step "
    "$\\Delta x = -\\eta \\nabla f(x)$ that is $f(x) - \\eta \\|\\nabla f(x)\\|^2$: lower than "
    "$f(x)$ wherever the gradient is not 0, if η is small enough (the book's proof). The chart "
    "divides the change each step made by that prediction: 1 where it holds, below 0 where f went "
    "up.":
        "泰勒展开：$f(x + \\Delta x) \\approx f(x) + \\nabla f(x)^\\top \\Delta x$。对梯度下降的一步 "
        "$\\Delta x = -\\eta \\nabla f(x)$，它等于 $f(x) - \\eta \\|\\nabla f(x)\\|^2$：只要梯度不为 0"
        "且 η 足够小，就比 $f(x)$ 小（书中的证明）。图中是每一步 f 的实际变化除以这个预测：1 表示"
        "预测成立，小于 0 表示 f 反而增大了。",
    "actual ÷ predicted change of f": "f 的实际变化 ÷ 预测变化",
    "f went down": "f 下降",
    "f went up": "f 上升",
    "first-order prediction exact": "一阶预测完全成立",
    "step {t}: f changed by {a}, the first-order prediction {p}": "第 {t} 步：f 变化了 {a}，一阶预测为 {p}",
    "f went down at every one of the {n} steps.": "在全部 {n} 步中，f 每一步都在下降。",
    "f went down at {d} of the {n} steps and did not change at the other {s}: it never went up.":
        "在 {n} 步中，f 有 {d} 步下降，其余 {s} 步没有变化：它从未上升。",
    "f went down at {d} of {n} steps. It first went up at step {t}: f changed by {a}, and the "
    "first-order prediction was {p}: the step itself pointed uphill. Where f″ < 0 (or the Hessian "
    "is not positive definite), Newton's step heads for the nearest stationary point, a maximum or "
    "a saddle, not for a minimum.":
        "在 {n} 步中有 {d} 步 f 下降。它第一次上升是在第 {t} 步：f 变化了 {a}，一阶预测为 {p}："
        "这一步本身就指向上坡。在 f″ < 0（或黑塞矩阵不正定）的地方，牛顿法的一步朝向最近的驻点，"
        "可能是极大值点或鞍点，而不是极小值点。",
    "f went down at {d} of {n} steps. It first went up at step {t}: f changed by {a}, and the "
    "first-order prediction was {p}: the step itself pointed uphill (momentum, noise or a "
    "per-coordinate scale turned it away from −∇f).":
        "在 {n} 步中有 {d} 步 f 下降。它第一次上升是在第 {t} 步：f 变化了 {a}，一阶预测为 {p}："
        "这一步本身就指向上坡（动量、噪声或按坐标的缩放使它偏离了 −∇f）。",
    "f went down at {d} of {n} steps. It first went up at step {t}: f changed by {a} where the "
    "first-order prediction was {p}, so the step was too long for the function's curvature there.":
        "在 {n} 步中有 {d} 步 f 下降。它第一次上升是在第 {t} 步：f 变化了 {a}，而一阶预测为 {p}，"
        "说明对那里的曲率来说，这一步迈得太大了。",
    "Slide γ drags momentum's γ, so it needs a method with momentum: momentum or Nesterov. "
    "({method} has no γ.)": "“拖动 γ”拖动的是动量的 γ，需要带动量的方法：动量法或 Nesterov。"
                            "（{method}没有 γ。）",
    "Use momentum": "改用动量法",
    "γ: where each run ends after {n} steps": "γ：各次运行 {n} 步后停在哪里",
    "best γ at this η": "此 η 下最佳的 γ",
    "No γ converges at η = {eta}: the step is too long for this quadratic with any momentum, so "
    "there is no best γ to mark. Try a smaller η.":
        "在 η = {eta} 下没有哪个 γ 能收敛：对这个二次函数来说，无论动量取多少，步长都太长，所以没有可标出的"
        "最佳 γ。请尝试更小的 η。",
    "Drag the slider under the chart: every momentum γ of the grid is already computed at "
    "η = {eta}, so the path follows as you drag. The sidebar, the other charts and the link stay "
    "at γ = {gamma}.":
        "拖动图下方的滑块：在 η = {eta} 下，网格上的每个动量 γ 都已算好，路径随拖动即时变化。侧边栏、"
        "其他图表和链接仍保持 γ = {gamma}。",
    "initial η₀: where each run ends after {n} steps": "初始 η₀：各次运行 {n} 步后停在哪里",
}

# Notes that nets/ writes into a run's history, in English (nets never imports the interface):
# (regular expression matching the whole note, Chinese template with the groups as {0}, {1}, ...).
# tests/test_i18n.py produces every kind of note and checks that each one matches.
NOTES_ZH: list[tuple[str, str]] = [
    (r"batch size (\d+) is larger than the training set; using (\d+)",
     "批量大小 {0} 大于训练集，改用 {1}"),
    (r"fast mode: batch kept at (\d+) for (\d+)x(\d+) inputs \(a larger batch did not train "
     r"faster there\)",
     "快速模式：输入为 {1}×{2} 时批量保持 {0}（更大的批量在这里并不更快）"),
    (r"fast mode: batch kept at (\d+) for (\d+)x(\d+) inputs on a GPU with (\d+) GiB \(a larger "
     r"batch needs more memory\)",
     "快速模式：输入为 {1}×{2} 时批量保持 {0}（这块 GPU 只有 {3} GiB 显存，更大的批量放不下）"),
    (r"fast mode: batch kept at (\d+) on the CPU \(a larger batch trains no faster there\)",
     "快速模式：在 CPU 上批量保持 {0}（更大的批量在 CPU 上并不更快）"),
    (r"fast mode: batch kept at (\d+): a larger one would leave fewer than (\d+) steps in the run "
     r"\(more epochs allow it\)",
     "快速模式：批量保持 {0}：更大的批量会让整个训练少于 {1} 步（增加迭代周期数即可）"),
    (r"fast mode: batch (\d+) -> (\d+), learning rate (\S+) -> (\S+)",
     "快速模式：批量 {0} → {1}，学习率 {2} → {3}"),
    (r"fast mode: (\d+) from-scratch BatchNorm layers ran as PyTorch's fused kernel "
     r"\(same computation\)",
     "快速模式：{0} 个从零实现的批量归一化层改用 PyTorch 的融合内核计算（计算相同）"),
    (r"(cpu|cuda): channels-last and bf16 autocast \(this CPU computes bf16 natively\)",
     "{0}：channels-last 内存布局与 bf16 自动混合精度（此 CPU 原生支持 bf16）"),
    (r"(cpu|cuda): bf16 autocast \(this CPU computes bf16 natively\)",
     "{0}：bf16 自动混合精度（此 CPU 原生支持 bf16）"),
    (r"cuda graph: each step of batch (\d+) replays one captured graph \(from step (\d+)\)",
     "CUDA 图：批量为 {0} 的每一步都重放同一个捕获的计算图（从第 {1} 步起）"),
    (r"cuda graph: capture failed, steps run one kernel at a time \((.*)\)",
     "CUDA 图：捕获失败，改为逐个内核执行（{0}）"),
    (r"torch\.compile: compiled on the first step \(([\d.]+) s\)",
     "torch.compile：在第一步编译了模型（{0} 秒）"),
    (r"torch\.compile: compiled on the first step \(([\d.]+) s: the code this process compiled "
     r"for this model before\)",
     "torch.compile：在第一步编译了模型（{0} 秒：沿用本进程先前为此模型编译的代码）"),
    (r"torch\.compile: failed, the run went on without it \((.*)\)",
     "torch.compile：编译失败，训练不编译继续进行（{0}）"),
    (r"torch\.compile: not used with --distributed", "torch.compile：分布式训练时不使用"),
    (r"(cpu|cuda): channels-last", "{0}：channels-last 内存布局"),
    (r"(cpu|cuda): bf16 autocast", "{0}：bf16 自动混合精度"),
]

# Messages that the libraries raise in English (optim.expr.ExpressionError for a typed function,
# nets.train.TrainConfig.validate and the registries' parameter checks for training settings):
# (regular expression matching the whole message, with named groups; Chinese template). In a
# template, {g!t} looks the group up in PARTS_ZH, {g!l} writes a list "a, b" as "a、b", {g!e}
# translates the group as a message itself (the part before " at column N: ..."), {g!o} does so
# where it can and keeps the text (Python's own syntax messages) where it cannot. The first
# pattern whose groups all translate wins; a message that none matches is shown as it is.
# tests/test_i18n.py raises every kind of message and checks that each one is translated.
_SHOWN = r"(?P<shown>'.*'|\".*\")"  # the user's text, as repr() writes it
ERRORS_ZH: list[tuple[str, str]] = [
    # ---- optim.expr: the explorer's own function
    (r"syntax error at column (?P<col>\d+): the expression ends too early, something is missing "
     r"after '(?P<end>.{1,2})' in " + _SHOWN,
     "语法错误，位于第 {col} 列：表达式不完整，'{end}' 后面还缺少内容：{shown}"),
    (r"syntax error at column (?P<col>\d+): write (?P<good>\S+) for a product, not (?P<bad>\S+) "
     r"in " + _SHOWN,
     "语法错误，位于第 {col} 列：乘积要写成 {good}，不能写成 {bad}：{shown}"),
    (r"syntax error at column (?P<col>\d+): (?P<reason>.+?) in " + _SHOWN,
     "语法错误，位于第 {col} 列：{reason!o}：{shown}"),
    (r"expression is empty: type a function of x \(and y\), e\.g\. x\^2",
     "表达式为空：请输入 x（和 y）的函数，例如 x^2"),
    (r"expression is too long \((?P<n>\d+) characters, at most (?P<most>\d+)\)",
     "表达式太长（{n} 个字符，最多 {most} 个）"),
    (r"expression is too complex \(its derivatives need more than (?P<n>\d+) terms\)",
     "表达式太复杂（它的导数需要超过 {n} 项）"),
    (r"expression is nested too deeply", "表达式嵌套层数太多"),
    (r"cannot read the expression: (?P<what>\w+)", "无法读取这个表达式：{what}"),
    (r"expression must be text, got (?P<what>\w+)", "表达式必须是文本，而不是 {what}"),
    (r"(?P<msg>.+?) at column (?P<col>\d+): (?P<src>.*)", "{msg!e}，位于第 {col} 列：{src}"),
    # (the part before " at column N: ...")
    (r"expression is nested too deeply \(more than (?P<n>\d+) levels\)",
     "表达式嵌套层数太多（超过 {n} 层）"),
    (r"(?P<what>comments \('#'\)|backslashes) are not allowed", "不允许使用{what!t}"),
    (r"operator '(?P<op>.+)' is not allowed \(use \+ - \* / \^\)",
     "不允许使用运算符 '{op}'（可用 + - * / ^）"),
    (r"operator '(?P<op>.+)' is not allowed", "不允许使用运算符 '{op}'"),
    (r"(?P<kind>.+) is not allowed \(only real numbers\)", "不允许使用{kind!t}（只能用实数）"),
    (r"'(?P<lit>.+)' would be read as (?P<base>a hexadecimal|an octal|a binary) number; write "
     r"numbers in decimal, and a product with '\*' \(e\.g\. 2\*x\)",
     "'{lit}' 会被当作{base!t}数：数字请用十进制书写，乘积请用 '*'（例如 2*x）"),
    (r"number is too large \(at most (?P<most>\S+)\)", "数字太大（最大为 {most}）"),
    (r"function '(?P<f>\w+)' needs an argument, e\.g\. (?P<eg>\w+\(x\)),",
     "函数 '{f}' 需要一个参数，例如 {eg}"),
    (r"name '(?P<name>\w+)' is not allowed \(use x, y, pi, e\)",
     "不允许使用名称 '{name}'（可用 x、y、pi、e）"),
    (r"exponent (?P<p>\S+) is too large \(\|exponent\| at most (?P<most>\S+)\)",
     "指数 {p} 太大（指数的绝对值最大为 {most}）"),
    (r"constant power overflows", "常数的幂溢出了"),
    (r"only calls of (?P<fs>.+) are allowed", "只能调用这些函数：{fs!l}"),
    (r"'(?P<v>\w+)' is not a function \(write (?P<w>\w+\*\(\.\.\.\)) to multiply\)",
     "'{v}' 不是函数（相乘请写成 {w}）"),
    (r"function '(?P<f>\w+)' is not allowed \(functions: (?P<fs>.+)\)",
     "不允许使用函数 '{f}'（可用函数：{fs!l}）"),
    (r"keyword arguments are not allowed in (?P<f>\w+\(\))", "{f} 不接受关键字参数"),
    (r"(?P<f>\w+\(\)) takes exactly one argument, got (?P<n>\d+)",
     "{f} 只接受一个参数，这里给了 {n} 个"),
    (r"this constant part is not a finite real number", "这个常数部分不是有限的实数"),
    (r"(?P<kind>.+) is not allowed", "不允许使用{kind!t}"),
    # Python's own reasons for a syntax error (kept in English where none matches)
    (r"invalid syntax", "语法无效"),
    (r"invalid syntax\. Perhaps you forgot a comma\?", "语法无效，也许漏了逗号？"),
    (r"'(?P<c>.)' was never closed", "'{c}' 没有闭合"),
    (r"unmatched '(?P<c>.)'", "'{c}' 没有与之配对的括号"),
    (r"closing parenthesis '(?P<a>.)' does not match opening parenthesis '(?P<b>.)'",
     "右括号 '{a}' 与左括号 '{b}' 不匹配"),
    (r"invalid character '(?P<c>.+)' \((?P<u>U\+[0-9A-F]+)\)", "无效字符 '{c}'（{u}）"),
    (r"unterminated string literal \(detected at line \d+\)", "字符串缺少结束引号"),
    (r"invalid decimal literal", "无效的十进制数"),
    (r"leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal "
     r"integers", "十进制整数不能以 0 开头"),
    (r"invalid (?P<base>hexadecimal|octal|binary|imaginary) literal", "无效的{base!t}数"),
    # ---- nets.train.TrainConfig.validate and the registries' parameter checks
    (r"unknown (?P<what>model|dataset|optimizer|schedule|device|precision) '(?P<v>.*)' "
     r"\(choose from: (?P<choices>.+)\)", "未知的{what!t} '{v}'（可选：{choices!l}）"),
    (r"(?P<name>epochs|batch size|resize|seed|max steps|eval every) must be a whole number, "
     r"got (?P<v>.*)", "{name!t}必须是整数，而不是 {v}"),
    (r"(?P<name>epochs|batch size|resize|seed|max steps|eval every) must be between "
     r"(?P<lo>\S+) and (?P<hi>\S+), got (?P<v>.*)", "{name!t}必须在 {lo} 到 {hi} 之间，而不是 {v}"),
    (r"(?P<name>\w+) must be between (?P<lo>\S+) and (?P<hi>\S+), got (?P<v>.*)",
     "参数 {name} 必须在 {lo} 到 {hi} 之间，而不是 {v}"),
    (r"(?P<name>\w+) must be a whole number, got (?P<v>.*)", "参数 {name} 必须是整数，而不是 {v}"),
    (r"(?P<model>\S+) needs a batch size of at least 2: batch normalization takes its "
     r"statistics over each batch", "{model} 的批量大小至少为 2：批量规范化的统计量取自每个批量"),
    (r"learning rate must be a positive number, got (?P<v>.*)", "学习率必须是正数，而不是 {v}"),
    (r"learning rate must be at most (?P<most>\S+), got (?P<v>.*)",
     "学习率最大为 {most}，而不是 {v}"),
    (r"(?P<model>\S+) takes inputs of (?P<a>\d+) to (?P<b>\d+) pixels \((?P<c>\d+) is its own "
     r"size\), got resize (?P<r>\d+)",
     "{model} 接受 {a} 到 {b} 像素的输入（{c} 是它本来的尺寸），这里缩放到了 {r}"),
    (r"resize (?P<r>\d+) is too small for (?P<model>\S+): it needs at least (?P<n>\d+) pixels",
     "缩放尺寸 {r} 对 {model} 来说太小：它至少需要 {n} 像素"),
    (r"device 'cuda' was asked for but no CUDA GPU is available here",
     "选择了设备 'cuda'，但这里没有可用的 CUDA GPU"),
    (r"(?P<name>fast|compile) must be true or false, got (?P<v>.*)",
     "{name!t}必须是 true 或 false，而不是 {v}"),
    (r"data dir must be a path, got (?P<v>.*)", "数据目录必须是路径，而不是 {v}"),
    (r"a schedule parameter is given twice", "有一个学习率调度参数给了两次"),
    (r"(?P<kind>function|method|schedule) '(?P<owner>.*)' has no parameter (?P<names>.+) "
     r"\(parameters: (?P<valid>.+)\)", "{kind!t} '{owner}' 没有参数 {names!l}（它的参数：{valid!l}）"),
    # ---- nets.data: the dataset (a run that fails while loading; the reason stays as it is)
    (r"(?P<damaged>.+); fetching it again failed: (?P<failed>.+)",
     "{damaged!o}；重新下载也失败了：{failed!o}"),
    (r"could not download (?P<name>\S+) from (?P<url>\S+): (?P<why>.+); without network access, "
     r"use the offline 'digits' dataset instead",
     "无法从 {url} 下载 {name}：{why}；没有网络时，请改用离线的 digits 数据集"),
    (r"download of (?P<name>\S+) from (?P<url>\S+) (?P<how>failed|was cut short): (?P<why>.+); "
     r"without network access, use the offline 'digits' dataset instead",
     "从 {url} 下载 {name} 没有完成：{why}；没有网络时，请改用离线的 digits 数据集"),
    (r"Fashion-MNIST is not in (?P<dir>.+) and downloading is off; without network access, use "
     r"the offline 'digits' dataset instead",
     "{dir} 中没有 Fashion-MNIST，且未开启下载；没有网络时，请改用离线的 digits 数据集"),
    (r"(?P<name>\S+) from (?P<url>\S+) is corrupt: MD5 (?P<got>\w+), expected (?P<md5>\w+); the "
     r"download was discarded", "从 {url} 下载的 {name} 已损坏（MD5 为 {got}，应为 {md5}），已丢弃"),
    (r"cannot write (?P<name>\S+) into (?P<dir>.+): (?P<why>.+) \(choose a writable data folder: "
     r"--data-dir or \$D2L_LAB_DATA_DIR\)",
     "无法把 {name} 写入 {dir}：{why}（请用 --data-dir 或 $D2L_LAB_DATA_DIR 指定一个可写的数据目录）"),
    (r"cannot create data directory (?P<dir>.+): (?P<why>.+)", "无法创建数据目录 {dir}：{why}"),
    (r"out of memory: try a smaller batch size or input size", "内存不足：请减小批量大小或输入尺寸"),
    # ---- nets.inspect.inspect_block: one block of the ResNet/DenseNet pages
    (r"(?P<a>\d+) → (?P<b>\d+) channels and stride (?P<s>\d+) need the 1×1 convolution "
     r"\(use_1x1conv\): the residual add Y \+ X needs matching shapes, and the shortcut's X is "
     r"(?P<x>\S+) while the block's output Y is (?P<y>\S+)",
     "通道数从 {a} 变为 {b}、步幅为 {s}，都需要 1×1 卷积层（`use_1x1conv=True`）：残差相加 Y + X "
     "要求两者形状相同，而捷径上的 X 是 {x}，残差块的输出 Y 是 {y}"),
    (r"(?P<a>\d+) → (?P<b>\d+) channels needs the 1×1 convolution \(use_1x1conv\): the residual "
     r"add Y \+ X needs matching shapes, and the shortcut's X has (?P<a2>\d+) channels, the "
     r"block's output Y (?P<b2>\d+)",
     "通道数从 {a} 变为 {b}，需要 1×1 卷积层（`use_1x1conv=True`）：残差相加 Y + X 要求两者形状"
     "相同，而捷径上的 X 有 {a2} 个通道，残差块的输出 Y 有 {b2} 个"),
    (r"stride (?P<s>\d+) needs the 1×1 convolution \(use_1x1conv\): the residual add Y \+ X "
     r"needs matching shapes, and the block's output Y is (?P<y>\S+) while the shortcut's X "
     r"stays (?P<x>\S+)",
     "步幅为 {s} 时需要 1×1 卷积层（`use_1x1conv=True`）：残差相加 Y + X 要求两者形状相同，而"
     "残差块的输出 Y 是 {y}，捷径上的 X 仍是 {x}"),
    (r"input (?P<h>\d+)×(?P<w>\d+) is too small for the transition block: its 2×2 average "
     r"pooling needs at least 2×2",
     "输入 {h}×{w} 对过渡层来说太小：它的 2×2 平均池化层至少需要 2×2 的输入"),
    (r"(?P<call>\w+\(.*\)) on input (?P<shape>\(.*\)) would make a tensor of (?P<n>[\d,]+) "
     r"values; the inspector takes at most (?P<most>[\d,]+) \(use a smaller batch, input or "
     r"fewer channels\)",
     "`{call}` 作用于输入 {shape} 时会产生含 {n} 个数的张量，超过了上限 {most}（请减小批量大小、"
     "输入尺寸或通道数）"),
    (r"input (?P<shape>\(.*\)) has (?P<n>[\d,]+) values; the inspector takes at most "
     r"(?P<most>[\d,]+) \(use batch size 1\)",
     "输入 {shape} 含 {n} 个数，超过了上限 {most}（请把批量大小设为 1）"),
]

# Words inside library messages, for {group!t} above.
PARTS_ZH: dict[str, str] = {
    # optim.expr: what is not allowed
    "comments ('#')": "注释（'#'）", "backslashes": "反斜杠",
    "attribute access": "属性访问", "indexing": "下标", "lambda": " lambda 表达式",
    "a comprehension": "推导式", "a comparison": "比较", "'and'/'or'": " 'and'/'or'",
    "'if ... else'": " 'if ... else'", "a list": "列表", "a tuple (a comma)": "元组（逗号）",
    "a set": "集合", "a dict": "字典", "a string": "字符串", "a bytes literal": "字节串",
    "a complex number": "复数", "True/False": " True/False", "None": " None", "'...'": " '...'",
    "'*'": " '*'", "':='": " ':='", "a slice": "切片", "'await'": " 'await'",
    "'yield'": " 'yield'",
    "a hexadecimal": "十六进制", "an octal": "八进制", "a binary": "二进制",
    "hexadecimal": "十六进制", "octal": "八进制", "binary": "二进制", "imaginary": "虚",
    # nets.train: settings
    "model": "模型", "dataset": "数据集", "optimizer": "优化方法", "schedule": "学习率调度",
    "device": "设备", "precision": "精度", "epochs": "迭代周期数", "batch size": "批量大小",
    "resize": "缩放尺寸", "seed": "随机种子", "max steps": "最大步数", "eval every": "评估间隔",
    "fast": "快速模式开关", "compile": "编译开关",
    "function": "函数", "method": "优化方法",
}
