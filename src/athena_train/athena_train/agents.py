"""rsl-rl PPO settings for the athena tasks (Isaac Lab's @configclass runner config)."""

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

from athena_train.symmetry import augmentation_cfg


@configclass
class AthenaFlatPPORunnerCfg(RslRlOnPolicyRunnerCfg):
    """PPO for flat ground: asymmetric actor-critic (critic sees privileged state)."""

    # 6 steps of the flat task's 32768 envs keep the batch (196 608 env-steps), and so the
    # updates per sample, of 16384 x 12 and 8192 x 24 (the measured gain: AthenaFlatEnvCfg's
    # num_envs); 16384 x 24, a doubled batch, needed 2.3x the env-steps to the gate
    # (docs/profiling.md)
    num_steps_per_env = 6
    max_iterations = 1500
    save_interval = 50
    experiment_name = "athena_flat"
    obs_groups = {"actor": ["policy"], "critic": ["critic"]}
    actor = RslRlMLPModelCfg(
        hidden_dims=[256, 128, 128], activation="elu", obs_normalization=True,
        distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
    )
    critic = RslRlMLPModelCfg(hidden_dims=[256, 128, 128], activation="elu",
                              obs_normalization=True)
    algorithm = RslRlPpoAlgorithmCfg(
        value_loss_coef=1.0, use_clipped_value_loss=True, clip_param=0.2, entropy_coef=0.008,
        num_learning_epochs=5, num_mini_batches=4, learning_rate=1.0e-3, schedule="adaptive",
        gamma=0.99, lam=0.95, desired_kl=0.01, max_grad_norm=1.0,
        # every mini-batch also holds its left-right mirror image (athena_train.symmetry):
        # the flat gate came at iteration 275 instead of 325, with a lower yaw-rate error at
        # every checkpoint compared, for +0.02 s of update per iteration (flatws vs
        # flat16k12n, docs/training.md "Left-right symmetry"); train --no-symmetry: without
        symmetry_cfg=augmentation_cfg(),
    )


@configclass
class AthenaRoughPPORunnerCfg(AthenaFlatPPORunnerCfg):
    """PPO for rough terrain: bigger networks, longer run, less entropy bonus."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.max_iterations = 3000
        # the rough runs (rough1-rough8) trained 8192 envs x 24 steps: kept
        self.num_steps_per_env = 24
        # flat's 0.008 let the action std of both rough runs climb from a warm start's 0.5 to
        # 1.0 within ~250 iterations and stay there (benchmarks/results/rough2/curves.png):
        # 0.25 rad of noise per joint, which tracking could not win against
        self.algorithm.entropy_coef = 0.002
        self.experiment_name = "athena_rough"
        self.actor.hidden_dims = [512, 256, 128]
        self.critic.hidden_dims = [512, 256, 128]
